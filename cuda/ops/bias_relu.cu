// bias_add, bias_backward, relu forward and backward, and the fused bias + ReLU and add + ReLU.
#include <algorithm>

#include "common.cuh"
#include "op.h"

namespace tandem::cuda {
namespace {

__global__ void bias_add_kernel(float* y, const float* b, int64_t c, int64_t inner, int64_t n) {
  TANDEM_GRID_LOOP(i, n) y[i] = __fadd_rn(y[i], b[(i / inner) % c]);
}

__global__ void bias_relu_kernel(float* y, const float* b, int64_t c, int64_t inner, int64_t n) {
  TANDEM_GRID_LOOP(i, n) y[i] = fmaxf(__fadd_rn(y[i], b[(i / inner) % c]), 0.0f);
}

// One block per channel (grid-stride over channels), each thread summing in double, then the block.
__global__ void bias_backward_kernel(const float* dy, float* db, Planes p) {
  const int64_t per_channel = p.n * p.inner;
  for (int64_t c = blockIdx.x; c < p.c; c += gridDim.x) {
    double sum = 0;
    for (int64_t j = threadIdx.x; j < per_channel; j += blockDim.x) {
      const int64_t n = j / p.inner, i = j % p.inner;
      sum += dy[(n * p.c + c) * p.inner + i];
    }
    sum = block_sum(sum);
    if (threadIdx.x == 0) db[c] = static_cast<float>(sum);
  }
}

__global__ void relu_forward_kernel(const float* x, float* y, int64_t n) {
  TANDEM_GRID_LOOP(i, n) {
    const float v = x[i];
    y[i] = v > 0.0f ? v : 0.0f;  // NaN gives 0, as on the CPU
  }
}

__global__ void add_relu_kernel(const float* a, const float* b, float* c, int64_t n) {
  TANDEM_GRID_LOOP(i, n) {
    const float v = __fadd_rn(a[i], b[i]);
    c[i] = v > 0.0f ? v : 0.0f;
  }
}

__global__ void relu_backward_kernel(const float* x, const float* dy, float* dx, int64_t n) {
  TANDEM_GRID_LOOP(i, n) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

}  // namespace

void bias_add(const OpCall& c) {
  const Op op(c);
  const Tensor &b = *c.in[0], &y = *c.out[0];
  const Planes pl = planes(y.shape());
  if (y.numel() == 0) return;
  bias_add_kernel<<<op.grid(y.numel()), block_threads, 0, op.s()>>>(
      static_cast<float*>(y.data()), static_cast<const float*>(b.data()), pl.c, pl.inner, y.numel());
  op.launched("bias_add");
}

void bias_relu(const OpCall& c) {
  const Op op(c);
  const Tensor &b = *c.in[0], &y = *c.out[0];
  const Planes pl = planes(y.shape());
  if (y.numel() == 0) return;
  bias_relu_kernel<<<op.grid(y.numel()), block_threads, 0, op.s()>>>(
      static_cast<float*>(y.data()), static_cast<const float*>(b.data()), pl.c, pl.inner, y.numel());
  op.launched("bias_relu");
}
TANDEM_KERNEL(cuda_kernels, bias_add, bias_add);
TANDEM_KERNEL(cuda_kernels, bias_relu, bias_relu);

void bias_backward(const OpCall& c) {
  const Op op(c);
  const Tensor &dy = *c.in[0], &db = *c.out[0];
  const Planes pl = planes(dy.shape());
  if (pl.c == 0) return;
  const auto blocks = static_cast<unsigned>(std::min<int64_t>(pl.c, 65535));
  bias_backward_kernel<<<blocks, block_threads, 0, op.s()>>>(static_cast<const float*>(dy.data()),
                                                             static_cast<float*>(db.data()), pl);
  op.launched("bias_backward");
}
TANDEM_KERNEL(cuda_kernels, bias_backward, bias_backward);

void relu_forward(const OpCall& c) {
  const Op op(c);
  const int64_t n = c.in[0]->numel();
  if (n == 0) return;
  relu_forward_kernel<<<op.grid(n), block_threads, 0, op.s()>>>(static_cast<const float*>(c.in[0]->data()),
                                                                static_cast<float*>(c.out[0]->data()), n);
  op.launched("relu_forward");
}
TANDEM_KERNEL(cuda_kernels, relu_forward, relu_forward);

void add_relu(const OpCall& c) {
  const Op op(c);
  const int64_t n = c.out[0]->numel();
  if (n == 0) return;
  add_relu_kernel<<<op.grid(n), block_threads, 0, op.s()>>>(static_cast<const float*>(c.in[0]->data()),
                                                            static_cast<const float*>(c.in[1]->data()),
                                                            static_cast<float*>(c.out[0]->data()), n);
  op.launched("add_relu");
}
TANDEM_KERNEL(cuda_kernels, add_relu, add_relu);

void relu_backward(const OpCall& c) {
  const Op op(c);
  const int64_t n = c.in[0]->numel();
  if (n == 0) return;
  relu_backward_kernel<<<op.grid(n), block_threads, 0, op.s()>>>(static_cast<const float*>(c.in[0]->data()),
                                                                 static_cast<const float*>(c.in[1]->data()),
                                                                 static_cast<float*>(c.out[0]->data()), n);
  op.launched("relu_backward");
}
TANDEM_KERNEL(cuda_kernels, relu_backward, relu_backward);

}  // namespace tandem::cuda
