// Element-wise ops and cast: one work-item per element.
// f32 kernels work on floats; the _h kernels on f16/bf16 storage, computed in f32.

kernel void fill_f32(OUT(float, y), const float v, const ulong n) {
  const size_t i = get_global_id(0);
  if (i < n) VIEW(y)[i] = v;
}

kernel void scale_f32(OUT(float, y), const float alpha, const ulong n) {
  const size_t i = get_global_id(0);
  if (i < n) VIEW(y)[i] *= alpha;
}

// c may alias a or b: each work-item reads its element before writing it.
kernel void add_f32(IN(float, a), IN(float, b), OUT(float, c), const ulong n) {
  const size_t i = get_global_id(0);
  if (i < n) VIEW(c)[i] = VIEW(a)[i] + VIEW(b)[i];
}

kernel void sub_f32(IN(float, a), IN(float, b), OUT(float, c), const ulong n) {
  const size_t i = get_global_id(0);
  if (i < n) VIEW(c)[i] = VIEW(a)[i] - VIEW(b)[i];
}

kernel void mul_f32(IN(float, a), IN(float, b), OUT(float, c), const ulong n) {
  const size_t i = get_global_id(0);
  if (i < n) VIEW(c)[i] = VIEW(a)[i] * VIEW(b)[i];
}

kernel void axpy_f32(IN(float, x), OUT(float, y), const float alpha, const ulong n) {
  const size_t i = get_global_id(0);
  if (i < n) VIEW(y)[i] += alpha * VIEW(x)[i];
}

// tandem/dtype.cpp's conversions transcribed, bit for bit (vload_half/vstore_half leave NaN
// payloads to the implementation): round to nearest even, overflow to ±inf, NaN stays NaN.
ushort f32_to_f16(float x) {
  const uint f = as_uint(x), sign = (f >> 16) & 0x8000u, abs = f & 0x7fffffffu;
  if (abs >= 0x7f800000u) return (ushort)(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return (ushort)(sign | 0x7c00u);  // rounds past 65504
  if (abs < 0x38800000u) {                                 // subnormal (or zero) in f16
    if (abs < 0x33000000u) return (ushort)sign;
    const uint mant = (abs & 0x7fffffu) | 0x800000u, shift = 126u - (abs >> 23);
    const uint rem = mant & ((1u << shift) - 1u), tie = 1u << (shift - 1u);
    const uint h = mant >> shift;
    return (ushort)(sign | (h + (rem > tie || (rem == tie && (h & 1u)) ? 1u : 0u)));
  }
  const uint h = (abs - 0x38000000u) >> 13, rem = abs & 0x1fffu;
  return (ushort)(sign | (h + (rem > 0x1000u || (rem == 0x1000u && (h & 1u)) ? 1u : 0u)));  // may carry: fine
}

float f16_to_f32(ushort h) {
  const uint sign = (uint)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  if (exp == 0x1fu) return as_float(sign | 0x7f800000u | (mant << 13));
  if (exp != 0) return as_float(sign | ((exp + 112u) << 23) | (mant << 13));
  return as_float(sign | as_uint((float)mant * 0x1p-24f));  // zero or subnormal: exact
}

ushort f32_to_bf16(float x) {
  const uint f = as_uint(x);
  return (ushort)((f & 0x7fffffffu) > 0x7f800000u ? (f >> 16) | 0x40u : (f + 0x7fffu + ((f >> 16) & 1u)) >> 16);
}

// bf selects bf16 (else f16).
float widen(ushort h, int bf) { return bf ? as_float((uint)h << 16) : f16_to_f32(h); }
ushort narrow(float v, int bf) { return bf ? f32_to_bf16(v) : f32_to_f16(v); }

kernel void fill_h(OUT(ushort, y), const float v, const ulong n, const int bf) {
  const size_t i = get_global_id(0);
  if (i < n) VIEW(y)[i] = narrow(v, bf);
}

kernel void scale_h(OUT(ushort, y), const float alpha, const ulong n, const int bf) {
  const size_t i = get_global_id(0);
  if (i < n) VIEW(y)[i] = narrow(widen(VIEW(y)[i], bf) * alpha, bf);
}

kernel void axpy_h(IN(ushort, x), OUT(ushort, y), const float alpha, const ulong n, const int bf) {
  const size_t i = get_global_id(0);
  if (i < n) VIEW(y)[i] = narrow(widen(VIEW(y)[i], bf) + alpha * widen(VIEW(x)[i], bf), bf);
}

kernel void add_h(IN(ushort, a), IN(ushort, b), OUT(ushort, c), const ulong n, const int bf) {
  const size_t i = get_global_id(0);
  if (i < n) VIEW(c)[i] = narrow(widen(VIEW(a)[i], bf) + widen(VIEW(b)[i], bf), bf);
}

kernel void sub_h(IN(ushort, a), IN(ushort, b), OUT(ushort, c), const ulong n, const int bf) {
  const size_t i = get_global_id(0);
  if (i < n) VIEW(c)[i] = narrow(widen(VIEW(a)[i], bf) - widen(VIEW(b)[i], bf), bf);
}

kernel void mul_h(IN(ushort, a), IN(ushort, b), OUT(ushort, c), const ulong n, const int bf) {
  const size_t i = get_global_id(0);
  if (i < n) VIEW(c)[i] = narrow(widen(VIEW(a)[i], bf) * widen(VIEW(b)[i], bf), bf);
}

// cast between dtypes (codes in tandem::DType's order), through f32 like the CPU's floating
// path. Going through f32 also gives the CPU's results for integers (which it converts through
// double): f32 holds i8 and u8 exactly, an i32 rounds once either way, and rounding is
// monotonic, so saturation at the (exactly representable) bounds agrees.
enum { F32, F16, BF16, I8, I32, U8 };

float load_as_f32(global const uchar *p, size_t i, int t) {
  switch (t) {
    case F32: return ((global const float *)p)[i];
    case F16: return f16_to_f32(((global const ushort *)p)[i]);
    case BF16: return widen(((global const ushort *)p)[i], 1);
    case I8: return ((global const char *)p)[i];
    case I32: return (float)((global const int *)p)[i];
    default: return p[i];
  }
}

// Integers: nearest, ties away from zero (round), saturated; NaN → 0.
void store_f32(global uchar *p, size_t i, int t, float v) {
  const float r = isnan(v) ? 0.0f : round(v);
  switch (t) {
    case F32: ((global float *)p)[i] = v; break;
    case F16: ((global ushort *)p)[i] = f32_to_f16(v); break;
    case BF16: ((global ushort *)p)[i] = f32_to_bf16(v); break;
    case I8: ((global char *)p)[i] = convert_char_sat(r); break;
    case I32: ((global int *)p)[i] = convert_int_sat(r); break;
    default: p[i] = convert_uchar_sat(r); break;
  }
}

size_t size_of(int t) { return t == F32 || t == I32 ? 4 : t == F16 || t == BF16 ? 2 : 1; }

// Tensors come as (buffer, element offset) of their own dtype: the byte offset is computed here.
kernel void cast(IN(uchar, src), const int from, OUT(uchar, dst), const int to, const ulong n) {
  const size_t i = get_global_id(0);
  if (i >= n) return;
  const float v = load_as_f32(src_base + src_off * size_of(from), i, from);
  store_f32(dst_base + dst_off * size_of(to), i, to, v);
}
