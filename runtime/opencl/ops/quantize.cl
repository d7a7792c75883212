// Dense codec primitives, bit-identical to the CPU: the same float operations in the same
// order, the rounding of tandem/compression/levels.h transcribed (Philox is in common.cl). One
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

kernel void chunk_norm2_f32(IN(float, x), OUT(float, scales), const long n, const long chunk) {
  const long c = get_global_id(0), first = c * chunk;
  if (first < n) VIEW(scales)[c] = chunk_norm2_of(VIEW(x) + first, min(chunk, n - first));
}

// Also sign_pack's units.
kernel void chunk_absmean_f32(IN(float, x), OUT(float, scales), const long n, const long chunk) {
  const long c = get_global_id(0), first = c * chunk;
  if (first < n) VIEW(scales)[c] = chunk_absmean_of(VIEW(x) + first, min(chunk, n - first));
}
#endif

// sign_pack in two launches: the units (chunk_absmean_f32), then the bytes (one work-item per
// byte, so chunks that share a byte need no coordination). Bit j is 1 where x ≥ 0 (NaN: 0).
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
                         const int levels, const int norm2, const int stochastic, KEY) {
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
    const float rnd = stochastic ? uniform_from(random_u32(seed, step, rank, offset, (ulong)(first + i))) : 0.0f;
    qc[i] = stochastic ? level_stochastic(v, rnd, top) : clamp_level(round_even(v), v, top);
  }
}

kernel void dequantize_f32(IN(char, q), IN(float, unit), OUT(float, y), const long n, const long chunk) {
  const long i = get_global_id(0);
  if (i < n) VIEW(y)[i] = (float)VIEW(q)[i] * VIEW(unit)[i / chunk];
}

// bitpack.h: field i is q[i] + offset in `width` bits at bit i·width of a little-endian stream,
// so group g (fields 8g … 8g+7) fills bytes g·width … g·width + width − 1 by itself: one
// work-item per group. The last group writes only the bytes its fields reach.
kernel void pack_bits(IN(char, q), OUT(uchar, bits), const long n, const int width, const int offset) {
  const long first = get_global_id(0) * 8;
  if (first >= n) return;
  const int count = (int)min(8L, n - first);
  const ulong mask = (1ul << width) - 1;
  ulong acc = 0;
  for (int j = 0; j < count; ++j) acc |= ((ulong)(VIEW(q)[first + j] + offset) & mask) << (j * width);
  global uchar *out = VIEW(bits) + first / 8 * width;
  for (int b = 0; b < (count * width + 7) / 8; ++b) out[b] = (uchar)(acc >> (8 * b));
}

// q[i] = field i − offset, wrapped to i8 as the CPU's static_cast does.
kernel void unpack_bits(IN(uchar, bits), OUT(char, q), const long n, const int width, const int offset) {
  const long first = get_global_id(0) * 8;
  if (first >= n) return;
  const int count = (int)min(8L, n - first);
  global const uchar *in = VIEW(bits) + first / 8 * width;
  ulong acc = 0;
  for (int b = 0; b < (count * width + 7) / 8; ++b) acc |= (ulong)in[b] << (8 * b);
  const ulong mask = (1ul << width) - 1;
  for (int j = 0; j < count; ++j) {
    const int field = (int)((acc >> (j * width)) & mask);
    VIEW(q)[first + j] = as_char((uchar)((field - offset) & 0xff));
  }
}
