// Average pooling: kernel×kernel windows forward (a thread per output) and backward (a thread
// per input element, gathering the windows covering it), the CPU's float operations in its order;
// global forward (a warp per plane, summing in double) and backward (a thread per element).
#include "common.cuh"
#include "op.h"

namespace tandem::cuda {
namespace {

struct Window {
  int64_t h, w, p, q;
  int kernel, stride;
};

__global__ void avgpool2d_forward_kernel(const float* x, float* y, Window g, int64_t outputs) {
  const float area = __fmul_rn(static_cast<float>(g.kernel), static_cast<float>(g.kernel));
  TANDEM_GRID_LOOP(o, outputs) {
    const int64_t plane = o / (g.p * g.q), ij = o % (g.p * g.q), i = ij / g.q, j = ij % g.q;
    const float* in = x + plane * g.h * g.w;
    float sum = 0.0f;
    for (int di = 0; di < g.kernel; ++di)
      for (int dj = 0; dj < g.kernel; ++dj) sum = __fadd_rn(sum, in[(i * g.stride + di) * g.w + j * g.stride + dj]);
    y[o] = __fdiv_rn(sum, area);
  }
}

__global__ void avgpool2d_backward_kernel(const float* dy, float* dx, Window g, int64_t inputs) {
  const float area = __fmul_rn(static_cast<float>(g.kernel), static_cast<float>(g.kernel));
  TANDEM_GRID_LOOP(e, inputs) {
    const int64_t plane = e / (g.h * g.w), rc = e % (g.h * g.w), r = rc / g.w, c = rc % g.w;
    const float* d = dy + plane * g.p * g.q;
    // Windows i with i·stride ≤ r < i·stride + kernel: [i_lo, i_hi); likewise j for c.
    const int64_t i_lo = r < g.kernel ? 0 : (r - g.kernel) / g.stride + 1,
                  i_hi = r / g.stride + 1 < g.p ? r / g.stride + 1 : g.p;
    const int64_t j_lo = c < g.kernel ? 0 : (c - g.kernel) / g.stride + 1,
                  j_hi = c / g.stride + 1 < g.q ? c / g.stride + 1 : g.q;
    float sum = 0.0f;
    for (int64_t i = i_lo; i < i_hi; ++i)
      for (int64_t j = j_lo; j < j_hi; ++j) sum = __fadd_rn(sum, d[i * g.q + j]);
    dx[e] = __fdiv_rn(sum, area);
  }
}

// Grid-stride over planes, one warp each: lanes sum strided elements, then the warp shuffles.
__global__ void global_avgpool_forward_kernel(const float* x, float* y, int64_t planes, int64_t hw) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t p = grid_thread() / 32; p < planes; p += warps) {
    const float* in = x + p * hw;
    double s = 0;
    for (int64_t i = lane; i < hw; i += 32) s += in[i];
    for (int o = 16; o > 0; o /= 2) s += __shfl_down_sync(0xffffffffu, s, o);
    if (lane == 0) y[p] = static_cast<float>(s / static_cast<double>(hw));
  }
}

__global__ void global_avgpool_backward_kernel(const float* dy, float* dx, int64_t hw, int64_t n) {
  const float area = static_cast<float>(hw);
  TANDEM_GRID_LOOP(i, n) dx[i] = __fdiv_rn(dy[i / hw], area);
}

}  // namespace

void avgpool2d_forward(const OpCall& c) {
  const Op op(c);
  const Tensor &x = *c.in[0], &y = *c.out[0];
  const auto& p = c.param<Pool2dParams>();
  if (y.numel() == 0) return;
  const Window g{x.shape()[2], x.shape()[3], y.shape()[2], y.shape()[3], p.kernel, p.stride};
  avgpool2d_forward_kernel<<<op.grid(y.numel()), block_threads, 0, op.s()>>>(
      static_cast<const float*>(x.data()), static_cast<float*>(y.data()), g, y.numel());
  op.launched("avgpool2d_forward");
}
TANDEM_KERNEL(cuda_kernels, avgpool2d_forward, avgpool2d_forward);

void avgpool2d_backward(const OpCall& c) {
  const Op op(c);
  const Tensor &dy = *c.in[0], &dx = *c.out[0];
  const auto& p = c.param<Pool2dParams>();
  if (dx.numel() == 0) return;
  const Window g{dx.shape()[2], dx.shape()[3], dy.shape()[2], dy.shape()[3], p.kernel, p.stride};
  avgpool2d_backward_kernel<<<op.grid(dx.numel()), block_threads, 0, op.s()>>>(
      static_cast<const float*>(dy.data()), static_cast<float*>(dx.data()), g, dx.numel());
  op.launched("avgpool2d_backward");
}
TANDEM_KERNEL(cuda_kernels, avgpool2d_backward, avgpool2d_backward);

void global_avgpool_forward(const OpCall& c) {
  const Op op(c);
  const Shape& x = c.in[0]->shape();
  const int64_t planes = x[0] * x[1];
  if (planes == 0) return;
  global_avgpool_forward_kernel<<<op.grid(planes * 32), block_threads, 0, op.s()>>>(
      static_cast<const float*>(c.in[0]->data()), static_cast<float*>(c.out[0]->data()), planes, x[2] * x[3]);
  op.launched("global_avgpool_forward");
}
TANDEM_KERNEL(cuda_kernels, global_avgpool_forward, global_avgpool_forward);

void global_avgpool_backward(const OpCall& c) {
  const Op op(c);
  const Tensor& dx = *c.out[0];
  if (dx.numel() == 0) return;
  global_avgpool_backward_kernel<<<op.grid(dx.numel()), block_threads, 0, op.s()>>>(
      static_cast<const float*>(c.in[0]->data()), static_cast<float*>(dx.data()), dx.shape()[2] * dx.shape()[3],
      dx.numel());
  op.launched("global_avgpool_backward");
}
TANDEM_KERNEL(cuda_kernels, global_avgpool_backward, global_avgpool_backward);

}  // namespace tandem::cuda
