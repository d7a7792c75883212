// maxpool2d forward (the argmax of each window, first on ties, as the CPU scans it; also fused
// after bias + ReLU) and
// backward (routing dy by the indices, one thread per plane adding in the CPU's order, so
// overlapping windows sum bit-identically).
#include <string>

#include "common.cuh"
#include "op.h"

namespace tandem::cuda {
namespace {

struct Pool {
  int64_t h, w, ph, pw;
  int kernel, stride;
};

// One thread per output element, scanning its window row by row as the CPU does, over x or,
// with a bias (fused), over max(x + bias[c], 0).
__global__ void maxpool_forward_kernel(const float* x, const float* bias, int64_t channels, float* y, int32_t* idx,
                                       Pool p, int64_t outputs) {
  TANDEM_GRID_LOOP(o, outputs) {
    const int64_t plane = o / (p.ph * p.pw), ij = o % (p.ph * p.pw), i = ij / p.pw, j = ij % p.pw;
    const float* in = x + plane * p.h * p.w;
    const float b = bias != nullptr ? bias[plane % channels] : 0.0f;
    const auto value = [&](int64_t at) {
      if (bias == nullptr) return in[at];
      const float v = __fadd_rn(in[at], b);
      return v > 0.0f ? v : 0.0f;
    };
    float best = __uint_as_float(0xff800000u);  // -inf
    int64_t arg = (i * p.stride) * p.w + j * p.stride;
    for (int di = 0; di < p.kernel; ++di)
      for (int dj = 0; dj < p.kernel; ++dj) {
        const int64_t at = (i * p.stride + di) * p.w + j * p.stride + dj;
        if (const float v = value(at); v > best) best = v, arg = at;
      }
    y[o] = value(arg);  // a NaN-only window keeps its first element (NaN), not -inf
    idx[o] = static_cast<int32_t>(arg);
  }
}

__global__ void maxpool_backward_kernel(const float* dy, const int32_t* idx, float* dx, int64_t planes, int64_t per_out,
                                        int64_t per_in) {
  TANDEM_GRID_LOOP(plane, planes) {
    float* out = dx + plane * per_in;
    for (int64_t i = 0; i < per_in; ++i) out[i] = 0.0f;
    for (int64_t o = 0; o < per_out; ++o) out[idx[plane * per_out + o]] += dy[plane * per_out + o];
  }
}

}  // namespace

namespace {

// The forward launch, over x or (bias given) max(x + bias, 0); `name` for errors.
void pool_forward(const OpCall& c, const float* bias, const char* name) {
  const Op op(c);
  const Tensor &x = *c.in[0], &y = *c.out[0], &idx = *c.out[1];
  const auto& prm = c.param<Pool2dParams>();
  const Pool p{x.shape()[2], x.shape()[3], y.shape()[2], y.shape()[3], prm.kernel, prm.stride};
  if (y.numel() == 0) return;
  maxpool_forward_kernel<<<op.grid(y.numel()), block_threads, 0, op.s()>>>(
      static_cast<const float*>(x.data()), bias, x.shape()[1], static_cast<float*>(y.data()),
      static_cast<int32_t*>(idx.data()), p, y.numel());
  op.launched(name);
}

}  // namespace

void maxpool2d_forward(const OpCall& c) { pool_forward(c, nullptr, "maxpool2d_forward"); }
TANDEM_KERNEL(cuda_kernels, maxpool2d_forward, maxpool2d_forward);

void bias_relu_maxpool2d(const OpCall& c) {
  pool_forward(c, static_cast<const float*>(c.in[1]->data()), "bias_relu_maxpool2d");
}
TANDEM_KERNEL(cuda_kernels, bias_relu_maxpool2d, bias_relu_maxpool2d);

void maxpool2d_backward(const OpCall& c) {
  const Op op(c);
  const Tensor &dy = *c.in[0], &idx = *c.in[1], &dx = *c.out[0];
  const int64_t planes = dy.shape()[0] * dy.shape()[1];
  const int64_t per_out = dy.shape()[2] * dy.shape()[3], per_in = dx.shape()[2] * dx.shape()[3];
  // Indices come from outside the op: check them all before writing anything.
  const IndexRange r = pool_index_range(c);
  const IndexCheck bad = check_indices(op, static_cast<const int32_t*>(idx.data()), idx.numel(), r.lo, r.hi);
  if (bad.first_bad >= 0) index_error(c, r, bad.first_bad, bad.bad_value);
  if (planes == 0 || per_in == 0) return;
  maxpool_backward_kernel<<<op.grid(planes, 64), 64, 0, op.s()>>>(
      static_cast<const float*>(dy.data()), static_cast<const int32_t*>(idx.data()), static_cast<float*>(dx.data()),
      planes, per_out, per_in);
  op.launched("maxpool2d_backward");
}
TANDEM_KERNEL(cuda_kernels, maxpool2d_backward, maxpool2d_backward);

}  // namespace tandem::cuda
