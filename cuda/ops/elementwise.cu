// fill, scale, add, mul, axpy (f32, f16, bf16: computed in f32, narrowed to nearest even, as the
// CPU does) and cast between any two dtypes. One grid-stride kernel per op; f32 with 16-byte
// aligned tensors moves float4 at a time.
#include "common.cuh"
#include "op.h"

namespace tandem::cuda {
namespace {

enum Kind { kFill, kScale, kAxpy, kAdd, kSub, kMul };

// One element's result from the output's old value o and the inputs a, b. Explicit _rn
// operations: two roundings, as on the CPU (never a fused multiply-add).
template <int K>
__device__ inline float apply(float o, float a, float b, float alpha) {
  if constexpr (K == kFill) return alpha;
  if constexpr (K == kScale) return __fmul_rn(o, alpha);
  if constexpr (K == kAxpy) return __fadd_rn(o, __fmul_rn(alpha, a));
  if constexpr (K == kAdd) return __fadd_rn(a, b);
  if constexpr (K == kSub) return __fsub_rn(a, b);
  return __fmul_rn(a, b);
}

template <int K>
__global__ void elementwise(DType t, void* out, const void* a, const void* b, float alpha, int64_t n) {
  TANDEM_GRID_LOOP(i, n) {
    const float o = (K == kScale || K == kAxpy) ? load_float(t, out, i) : 0.0f;
    const float x = a != nullptr ? load_float(t, a, i) : 0.0f;
    const float y = b != nullptr ? load_float(t, b, i) : 0.0f;
    store_float(t, out, i, apply<K>(o, x, y, alpha));
  }
}

template <int K>
__global__ void elementwise_x4(float4* out, const float4* a, const float4* b, float alpha, int64_t n4) {
  TANDEM_GRID_LOOP(i, n4) {
    const float4 o = (K == kScale || K == kAxpy) ? out[i] : float4{};
    const float4 x = a != nullptr ? a[i] : float4{};
    const float4 y = b != nullptr ? b[i] : float4{};
    out[i] = float4{apply<K>(o.x, x.x, y.x, alpha), apply<K>(o.y, x.y, y.y, alpha), apply<K>(o.z, x.z, y.z, alpha),
                    apply<K>(o.w, x.w, y.w, alpha)};
  }
}

bool aligned16(const Tensor* t) { return t == nullptr || reinterpret_cast<uintptr_t>(t->data()) % 16 == 0; }

const void* data_of(const Tensor* t) { return t != nullptr ? t->data() : nullptr; }

template <int K>
void run(const Op& op, const Tensor& out, const Tensor* a, const Tensor* b, float alpha) {
  const int64_t n = out.numel();
  if (n == 0) return;
  int64_t done = 0;
  if (out.dtype() == DType::f32 && aligned16(&out) && aligned16(a) && aligned16(b) && n >= 4) {
    const int64_t n4 = n / 4;
    elementwise_x4<K><<<op.grid(n4), block_threads, 0, op.s()>>>(static_cast<float4*>(out.data()),
                                                                 static_cast<const float4*>(data_of(a)),
                                                                 static_cast<const float4*>(data_of(b)), alpha, n4);
    op.launched("elementwise_x4");
    done = 4 * n4;
  }
  if (done == n) return;
  const size_t skip = static_cast<size_t>(done) * dtype_size(out.dtype());
  auto at = [skip](const Tensor* t) { return t != nullptr ? static_cast<const char*>(t->data()) + skip : nullptr; };
  elementwise<K><<<op.grid(n - done), block_threads, 0, op.s()>>>(out.dtype(), static_cast<char*>(out.data()) + skip,
                                                                  at(a), at(b), alpha, n - done);
  op.launched("elementwise");
}

// The CPU's cast (elementwise.cpp): every dtype through double, integers nearest with ties away
// from zero, saturated, NaN → 0; floating types through dtype.cpp's conversions.
__device__ double load_any(DType t, const void* p, int64_t i) {
  switch (t) {
    case DType::f32:
      return static_cast<const float*>(p)[i];
    case DType::f16:
      return f16_bits_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::bf16:
      return bf16_bits_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::i8:
      return static_cast<const int8_t*>(p)[i];
    case DType::i32:
      return static_cast<const int32_t*>(p)[i];
    case DType::u8:
      return static_cast<const uint8_t*>(p)[i];
  }
  return 0;
}

template <class I>
__device__ I to_int(double v, double lo, double hi) {
  if (isnan(v)) return 0;
  return static_cast<I>(fmin(fmax(round(v), lo), hi));
}

__device__ void store_any(DType t, void* p, int64_t i, double v) {
  switch (t) {
    case DType::f32:
      static_cast<float*>(p)[i] = static_cast<float>(v);
      return;
    case DType::f16:
      static_cast<uint16_t*>(p)[i] = f32_to_f16_bits(static_cast<float>(v));
      return;
    case DType::bf16:
      static_cast<uint16_t*>(p)[i] = f32_to_bf16_bits(static_cast<float>(v));
      return;
    case DType::i8:
      static_cast<int8_t*>(p)[i] = to_int<int8_t>(v, -128.0, 127.0);
      return;
    case DType::i32:
      static_cast<int32_t*>(p)[i] = to_int<int32_t>(v, -2147483648.0, 2147483647.0);
      return;
    case DType::u8:
      static_cast<uint8_t*>(p)[i] = to_int<uint8_t>(v, 0.0, 255.0);
      return;
  }
}

__global__ void cast_kernel(DType from, const void* src, DType to, void* dst, int64_t n) {
  TANDEM_GRID_LOOP(i, n) store_any(to, dst, i, load_any(from, src, i));
}

// The gradient casts (f32 to f16 or bf16 and back), four elements per step: 16-byte loads or
// stores of the f32 side, 8-byte ones of the 16-bit side. Same conversions, same bits.
template <bool ToHalf, DType Half>
__global__ void cast_x4_kernel(const void* src, void* dst, int64_t n) {
  constexpr auto narrow = [](float v) { return Half == DType::f16 ? f32_to_f16_bits(v) : f32_to_bf16_bits(v); };
  // The CPU widens through double, which quiets a signaling NaN: so does this.
  constexpr auto widen = [](uint16_t h) {
    const uint32_t f = __float_as_uint(Half == DType::f16 ? f16_bits_to_f32(h) : bf16_bits_to_f32(h));
    return __uint_as_float((f & 0x7fffffffu) > 0x7f800000u ? f | 0x400000u : f);
  };
  TANDEM_GRID_LOOP(k, n / 4) {
    if constexpr (ToHalf) {
      const float4 v = static_cast<const float4*>(src)[k];
      static_cast<ushort4*>(dst)[k] = make_ushort4(narrow(v.x), narrow(v.y), narrow(v.z), narrow(v.w));
    } else {
      const ushort4 h = static_cast<const ushort4*>(src)[k];
      static_cast<float4*>(dst)[k] = make_float4(widen(h.x), widen(h.y), widen(h.z), widen(h.w));
    }
  }
  const int64_t i = (n & ~int64_t{3}) + grid_thread();
  if (i < n) {
    if constexpr (ToHalf)
      static_cast<uint16_t*>(dst)[i] = narrow(static_cast<const float*>(src)[i]);
    else
      static_cast<float*>(dst)[i] = widen(static_cast<const uint16_t*>(src)[i]);
  }
}

// cast_x4_kernel for this pair of dtypes and pointers, if it applies.
bool cast_x4(const Op& op, const Tensor& src, const Tensor& dst) {
  const DType a = src.dtype(), b = dst.dtype();
  const bool to_half = a == DType::f32 && (b == DType::f16 || b == DType::bf16);
  const bool from_half = b == DType::f32 && (a == DType::f16 || a == DType::bf16);
  const auto f32 = reinterpret_cast<uintptr_t>(to_half ? src.data() : dst.data());
  const auto half = reinterpret_cast<uintptr_t>(to_half ? dst.data() : src.data());
  if (!(to_half || from_half) || f32 % 16 != 0 || half % 8 != 0) return false;
  const int64_t n = src.numel();
  const unsigned grid = op.grid(std::max<int64_t>(n / 4, 1));
  const DType h = to_half ? b : a;
  if (to_half && h == DType::f16)
    cast_x4_kernel<true, DType::f16><<<grid, block_threads, 0, op.s()>>>(src.data(), dst.data(), n);
  if (to_half && h == DType::bf16)
    cast_x4_kernel<true, DType::bf16><<<grid, block_threads, 0, op.s()>>>(src.data(), dst.data(), n);
  if (!to_half && h == DType::f16)
    cast_x4_kernel<false, DType::f16><<<grid, block_threads, 0, op.s()>>>(src.data(), dst.data(), n);
  if (!to_half && h == DType::bf16)
    cast_x4_kernel<false, DType::bf16><<<grid, block_threads, 0, op.s()>>>(src.data(), dst.data(), n);
  op.launched("cast");
  return true;
}

}  // namespace

void scale_tensor(const Op& op, const Tensor& x, float alpha) { run<kScale>(op, x, nullptr, nullptr, alpha); }

void axpy(const OpCall& c) { run<kAxpy>(Op(c), *c.out[0], c.in[0], nullptr, c.param<ScaleParams>().alpha); }
TANDEM_KERNEL(cuda_kernels, axpy, axpy);
void scale(const OpCall& c) { run<kScale>(Op(c), *c.out[0], nullptr, nullptr, c.param<ScaleParams>().alpha); }
TANDEM_KERNEL(cuda_kernels, scale, scale);
void fill(const OpCall& c) { run<kFill>(Op(c), *c.out[0], nullptr, nullptr, c.param<FillParams>().value); }
TANDEM_KERNEL(cuda_kernels, fill, fill);
void add(const OpCall& c) { run<kAdd>(Op(c), *c.out[0], c.in[0], c.in[1], 0.0f); }
TANDEM_KERNEL(cuda_kernels, add, add);
void sub(const OpCall& c) { run<kSub>(Op(c), *c.out[0], c.in[0], c.in[1], 0.0f); }
TANDEM_KERNEL(cuda_kernels, sub, sub);
void mul(const OpCall& c) { run<kMul>(Op(c), *c.out[0], c.in[0], c.in[1], 0.0f); }
TANDEM_KERNEL(cuda_kernels, mul, mul);

void cast(const OpCall& c) {
  const Op op(c);
  const Tensor &src = *c.in[0], &dst = *c.out[0];
  if (src.numel() == 0) return;
  if (src.dtype() == dst.dtype()) {
    const size_t bytes = src.nbytes();
    const auto s = reinterpret_cast<uintptr_t>(src.data()), d = reinterpret_cast<uintptr_t>(dst.data());
    if (s == d) return;
    if (d < s + bytes && s < d + bytes) {  // overlapping views: memmove semantics through scratch
      const Scratch tmp(op, bytes);
      TANDEM_OP_CHECK(op, cudaMemcpyAsync(tmp.get(), src.data(), bytes, cudaMemcpyDeviceToDevice, op.s()));
      TANDEM_OP_CHECK(op, cudaMemcpyAsync(dst.data(), tmp.get(), bytes, cudaMemcpyDeviceToDevice, op.s()));
      return;
    }
    TANDEM_OP_CHECK(op, cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice, op.s()));
    return;
  }
  if (cast_x4(op, src, dst)) return;
  cast_kernel<<<op.grid(src.numel()), block_threads, 0, op.s()>>>(src.dtype(), src.data(), dst.dtype(), dst.data(),
                                                                  src.numel());
  op.launched("cast");
}
TANDEM_KERNEL(cuda_kernels, cast, cast);

}  // namespace tandem::cuda
