// Codec primitives, bit-identical to the CPU: the same float operations in the same order,
// Philox4x32-10 and the rounding of tandem/compression/{philox,levels}.h transcribed. One
// work-item per chunk, whose reduction order is then the CPU's.

// The bits of |x| order like the floats; NaN (above infinity's bits) counts as 0.
float chunk_absmax_of(global const float *x, long count) {
  int m = 0;
  for (long i = 0; i < count; ++i) {
    const int a = as_int(x[i]) & 0x7fffffff;
    const int v = a > 0x7f800000 ? 0 : a;
    m = v > m ? v : m;
  }
  return as_float(m);
}

#ifdef cl_khr_fp64
// Four partial sums in double, combined as (s0 + s1) + (s2 + s3): the CPU's order.
float chunk_norm2_of(global const float *x, long count) {
  double s[4] = {0, 0, 0, 0};
  long i = 0;
  for (; i + 4 <= count; i += 4)
    for (int j = 0; j < 4; ++j) s[j] += (double)x[i + j] * x[i + j];
  for (; i < count; ++i) s[0] += (double)x[i] * x[i];
  return (float)sqrt((s[0] + s[1]) + (s[2] + s[3]));
}

// Mean |x| with the same four partial sums (sign compression's unit).
float chunk_absmean_of(global const float *x, long count) {
  double s[4] = {0, 0, 0, 0};
  long i = 0;
  for (; i + 4 <= count; i += 4)
    for (int j = 0; j < 4; ++j) s[j] += fabs(x[i + j]);
  for (; i < count; ++i) s[0] += fabs(x[i]);
  return (float)(((s[0] + s[1]) + (s[2] + s[3])) / (double)count);
}

// sign_pack in two launches: the units (one work-item per chunk), then the bytes (one per
// byte, so chunks that share a byte need no coordination). Bit j is 1 where x ≥ 0 (NaN: 0).
kernel void sign_units_f32(IN(float, x), OUT(float, unit), const long n, const long chunk) {
  const long c = get_global_id(0), first = c * chunk;
  if (first < n) VIEW(unit)[c] = chunk_absmean_of(VIEW(x) + first, min(chunk, n - first));
}
#endif

kernel void sign_bits_f32(IN(float, x), OUT(uchar, bits), const long n) {
  const long b = get_global_id(0);
  if (b * 8 >= n) return;
  global const float *xb = VIEW(x) + b * 8;
  uint byte = 0;
  for (long j = 0; j < 8 && b * 8 + j < n; ++j) byte |= (xb[j] >= 0.0f ? 1u : 0u) << j;
  VIEW(bits)[b] = (uchar)byte;
}

// y[i] = ±unit[chunk]: the sign bit set where the packed bit is 0.
kernel void sign_unpack_f32(IN(uchar, bits), IN(float, unit), OUT(float, y), const long n, const long chunk) {
  const long i = get_global_id(0);
  if (i >= n) return;
  const uint u = as_uint(VIEW(unit)[i / chunk]);
  VIEW(y)[i] = as_float(u | ((~((uint)VIEW(bits)[i >> 3] >> (i & 7)) & 1u) << 31));
}

kernel void chunk_absmax_f32(IN(float, x), OUT(float, scales), const long n, const long chunk) {
  const long c = get_global_id(0), first = c * chunk;
  if (first >= n) return;
  VIEW(scales)[c] = chunk_absmax_of(VIEW(x) + first, min(chunk, n - first));
}

// philox.h: ten rounds on one counter block.
uint4 philox4x32_10(uint4 c, uint2 k) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) k += (uint2)(0x9E3779B9u, 0xBB67AE85u);
    const ulong p0 = (ulong)0xD2511F53u * c.x, p1 = (ulong)0xCD9E8D57u * c.z;
    c = (uint4)((uint)(p1 >> 32) ^ c.y ^ k.x, (uint)p1, (uint)(p0 >> 32) ^ c.w ^ k.y, (uint)p0);
  }
  return c;
}

// random_uniform(key, i): word p % 4 of block p / 4, p = offset + i; 24 random bits.
float random_uniform(ulong seed, uint step, uint rank, ulong offset, ulong i) {
  const ulong p = offset + i, block = p >> 2;
  const uint4 w = philox4x32_10((uint4)((uint)block, (uint)(block >> 32), step, rank), (uint2)((uint)seed, (uint)(seed >> 32)));
  const uint word = (p & 3) == 0 ? w.x : (p & 3) == 1 ? w.y : (p & 3) == 2 ? w.z : w.w;
  return (float)(word >> 8) * (1.0f / 16777216.0f);
}

// levels.h
float round_even(float v) { return (v + 12582912.0f) - 12582912.0f; }
char clamp_level(float r, float v, float top) {
  r = r < -top ? -top : r;
  r = r > top ? top : r;
  r = v == v ? r : 0.0f;
  return (char)(int)r;
}
char level_stochastic(float v, float rnd, float top) {
  const float near = round_even(v);
  const float lo = near - (near > v ? 1.0f : 0.0f);
  const float up = rnd < v - lo ? 1.0f : 0.0f;
  return clamp_level(lo + up, v, top);
}

kernel void quantize_f32(IN(float, x), OUT(float, unit), OUT(char, q), const long n, const long chunk,
                         const int levels, const int norm2, const int stochastic, const ulong seed, const uint step,
                         const uint rank, const ulong offset) {
  const long c = get_global_id(0), first = c * chunk;
  if (first >= n) return;
  const long count = min(chunk, n - first);
  global const float *xc = VIEW(x) + first;
  global char *qc = VIEW(q) + first;
  const float top = (float)levels;
#ifdef cl_khr_fp64
  const float r = norm2 ? chunk_norm2_of(xc, count) : chunk_absmax_of(xc, count);
#else
  const float r = chunk_absmax_of(xc, count);  // the host refuses norm2 without doubles
#endif
  const float u = r / top;
  VIEW(unit)[c] = u;
  if (!(u > 0.0f) || isinf(u) || isnan(u)) {
    for (long i = 0; i < count; ++i) qc[i] = 0;
    return;
  }
  for (long i = 0; i < count; ++i) {
    const float v = xc[i] / u;
    qc[i] = stochastic ? level_stochastic(v, random_uniform(seed, step, rank, offset, (ulong)(first + i)), top)
                       : clamp_level(round_even(v), v, top);
  }
}

kernel void dequantize_f32(IN(char, q), IN(float, unit), OUT(float, y), const long n, const long chunk) {
  const long i = get_global_id(0);
  if (i < n) VIEW(y)[i] = (float)VIEW(q)[i] * VIEW(unit)[i / chunk];
}
