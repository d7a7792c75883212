// axpy, scale, add — the accumulation ops — and cast. f32 runs straight; f16/bf16 are
// widened per block into a stack buffer, computed in f32 and narrowed with round-to-nearest.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "../kernels.h"

namespace tandem::cpu {
namespace {

constexpr int64_t block = for_blocks_size;

// Runs op(out, in0, in1, count) on f32 views of each block: out is also read (it is y in axpy).
template <class Op>
void elementwise(const Tensor* x0, const Tensor* x1, const Tensor& out, Op op) {
  const DType t = out.dtype();
  const size_t es = dtype_size(t);
  auto at = [es](const Tensor* x, int64_t i) {
    return static_cast<const char*>(x->data()) + i * static_cast<int64_t>(es);
  };
  for_blocks(out.numel(), [&](int64_t first, int64_t count) {
    if (t == DType::f32) {
      op(static_cast<float*>(out.data()) + first, x0 ? reinterpret_cast<const float*>(at(x0, first)) : nullptr,
         x1 ? reinterpret_cast<const float*>(at(x1, first)) : nullptr, count);
      return;
    }
    float o[block], a[block], b[block];
    const size_t n = static_cast<size_t>(count);
    char* dst = static_cast<char*>(out.data()) + first * static_cast<int64_t>(es);
    to_f32(t, dst, o, n);
    if (x0) to_f32(t, at(x0, first), a, n);
    if (x1) to_f32(t, at(x1, first), b, n);
    op(o, x0 ? a : nullptr, x1 ? b : nullptr, count);
    from_f32(t, o, dst, n);
  });
}

double load(DType t, const void* p, int64_t i) {
  switch (t) {
    case DType::f32:
      return static_cast<const float*>(p)[i];
    case DType::f16:
      return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::bf16:
      return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::i8:
      return static_cast<const int8_t*>(p)[i];
    case DType::i32:
      return static_cast<const int32_t*>(p)[i];
    case DType::u8:
      return static_cast<const uint8_t*>(p)[i];
  }
  return 0;
}

// Integers take the nearest value (ties away from zero), saturated to their range; NaN → 0.
template <class I>
I to_int(double v) {
  if (std::isnan(v)) return 0;
  v = std::round(v);
  return static_cast<I>(std::clamp(v, double(std::numeric_limits<I>::min()), double(std::numeric_limits<I>::max())));
}

void store(DType t, void* p, int64_t i, double v) {
  switch (t) {
    case DType::f32:
      static_cast<float*>(p)[i] = static_cast<float>(v);
      return;
    case DType::f16:
      static_cast<uint16_t*>(p)[i] = f32_to_f16(static_cast<float>(v));
      return;
    case DType::bf16:
      static_cast<uint16_t*>(p)[i] = f32_to_bf16(static_cast<float>(v));
      return;
    case DType::i8:
      static_cast<int8_t*>(p)[i] = to_int<int8_t>(v);
      return;
    case DType::i32:
      static_cast<int32_t*>(p)[i] = to_int<int32_t>(v);
      return;
    case DType::u8:
      static_cast<uint8_t*>(p)[i] = to_int<uint8_t>(v);
      return;
  }
}

}  // namespace

void axpy(const OpCall& call) {
  const float alpha = call.param<ScaleParams>().alpha;
  elementwise(call.in[0], nullptr, *call.out[0], [alpha](float* y, const float* x, const float*, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
  });
}
TANDEM_KERNEL(cpu_kernels, axpy, axpy);

void scale(const OpCall& call) {
  const float alpha = call.param<ScaleParams>().alpha;
  elementwise(nullptr, nullptr, *call.out[0], [alpha](float* x, const float*, const float*, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) x[i] *= alpha;
  });
}
TANDEM_KERNEL(cpu_kernels, scale, scale);

void fill(const OpCall& call) {
  const float value = call.param<FillParams>().value;
  elementwise(nullptr, nullptr, *call.out[0], [value](float* y, const float*, const float*, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = value;
  });
}
TANDEM_KERNEL(cpu_kernels, fill, fill);

void add(const OpCall& call) {
  elementwise(call.in[0], call.in[1], *call.out[0], [](float* c, const float* a, const float* b, int64_t n) {
    for (int64_t i = 0; i < n; ++i) c[i] = a[i] + b[i];  // c may alias a or b: no simd pragma
  });
}
TANDEM_KERNEL(cpu_kernels, add, add);

void sub(const OpCall& call) {
  elementwise(call.in[0], call.in[1], *call.out[0], [](float* c, const float* a, const float* b, int64_t n) {
    for (int64_t i = 0; i < n; ++i) c[i] = a[i] - b[i];  // c may alias a or b: no simd pragma
  });
}
TANDEM_KERNEL(cpu_kernels, sub, sub);

void mul(const OpCall& call) {
  elementwise(call.in[0], call.in[1], *call.out[0], [](float* c, const float* a, const float* b, int64_t n) {
    for (int64_t i = 0; i < n; ++i) c[i] = a[i] * b[i];  // c may alias a or b: no simd pragma
  });
}
TANDEM_KERNEL(cpu_kernels, mul, mul);

void cast(const OpCall& call) {
  const Tensor &src = *call.in[0], &dst = *call.out[0];
  const char* from = static_cast<const char*>(src.data());
  char* to = static_cast<char*>(dst.data());
  const size_t si = dtype_size(src.dtype()), di = dtype_size(dst.dtype());
  if (src.dtype() == dst.dtype()) {
    if (to < from + src.nbytes() && from < to + dst.nbytes()) {  // overlapping views: one memmove
      std::memmove(to, from, src.nbytes());
      return;
    }
    for_blocks(src.numel(), [&](int64_t first, int64_t count) {
      std::memcpy(to + first * si, from + first * si, static_cast<size_t>(count) * si);
    });
    return;
  }
  if (is_floating(src.dtype()) && is_floating(dst.dtype())) {  // bulk (F16C where present)
    for_blocks(src.numel(), [&](int64_t first, int64_t count) {
      const auto n = static_cast<size_t>(count);
      if (dst.dtype() == DType::f32) {
        to_f32(src.dtype(), from + first * si, reinterpret_cast<float*>(to + first * di), n);
      } else if (src.dtype() == DType::f32) {
        from_f32(dst.dtype(), reinterpret_cast<const float*>(from + first * si), to + first * di, n);
      } else {
        float f[block];
        to_f32(src.dtype(), from + first * si, f, n);
        from_f32(dst.dtype(), f, to + first * di, n);
      }
    });
    return;
  }
  for_blocks(src.numel(), [&](int64_t first, int64_t count) {
    for (int64_t i = first; i < first + count; ++i) store(dst.dtype(), dst.data(), i, load(src.dtype(), src.data(), i));
  });
}
TANDEM_KERNEL(cpu_kernels, cast, cast);

}  // namespace tandem::cpu
