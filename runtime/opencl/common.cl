// Prepended to every program. Tensors arrive as (buffer, element offset) pairs: views into a
// larger buffer need no sub-buffer (whose offsets OpenCL requires to be aligned).
// No contraction into fused multiply-adds: results must round as the CPU's do.
#pragma OPENCL FP_CONTRACT OFF
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double acc_t;  // long sums, as the CPU sums them in double
#else
typedef float acc_t;  // devices without doubles sum in float
#endif
#define IN(T, n) global const T *n##_base, const ulong n##_off
#define OUT(T, n) global T *n##_base, const ulong n##_off
#define VIEW(n) (n##_base + n##_off)

// Per-dimension values (Launch::dims on the host) as a private array a to index: a long8's
// components (vstore8 would pass the vector by value, which PoCL warns about without AVX-512).
#define DIMS(v, a) const long a[8] = {v.s0, v.s1, v.s2, v.s3, v.s4, v.s5, v.s6, v.s7}

// A compression::RandomKey, as four kernel arguments (Launch::key on the host).
#define KEY const ulong seed, const uint step, const uint rank, const ulong offset

// tandem/numeric/philox.h: ten rounds of Philox4x32 on one counter block.
uint4 philox4x32_10(uint4 c, uint2 k) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) k += (uint2)(0x9E3779B9u, 0xBB67AE85u);
    const ulong p0 = (ulong)0xD2511F53u * c.x, p1 = (ulong)0xCD9E8D57u * c.z;
    c = (uint4)((uint)(p1 >> 32) ^ c.y ^ k.x, (uint)p1, (uint)(p0 >> 32) ^ c.w ^ k.y, (uint)p0);
  }
  return c;
}

// random_block: the words of elements 4·block … 4·block + 3 of the key's stream.
uint4 random_block(ulong seed, uint step, uint rank, ulong block) {
  return philox4x32_10((uint4)((uint)block, (uint)(block >> 32), step, rank), (uint2)((uint)seed, (uint)(seed >> 32)));
}

// random_u32(key, i): word p % 4 of block p / 4, p = offset + i.
uint random_u32(ulong seed, uint step, uint rank, ulong offset, ulong i) {
  const ulong p = offset + i;
  const uint4 w = random_block(seed, step, rank, p >> 2);
  return (p & 3) == 0 ? w.x : (p & 3) == 1 ? w.y : (p & 3) == 2 ? w.z : w.w;
}

// uniform_from: [0, 1) from 24 random bits.
float uniform_from(uint word) { return (float)(word >> 8) * (1.0f / 16777216.0f); }
