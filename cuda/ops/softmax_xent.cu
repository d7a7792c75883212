// Softmax cross-entropy, numerically stable (max-shifted, loss from log-sum-exp), one warp per
// row. Sums in double as on the CPU; exp and log are CUDA's (within a few ulps of glibc's).
#include <algorithm>
#include <string>

#include "common.cuh"
#include "op.h"

namespace tandem::cuda {
namespace {

constexpr int rows_per_block = block_threads / 32;

__device__ inline float warp_max(float v) {
  for (int o = 16; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ inline double warp_sum(double v) {
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// probs = softmax(row); row_loss[i] = log Σ exp(row − max) + max − row[label], in double.
__global__ void softmax_forward_kernel(const float* x, const int32_t* labels, float* probs, double* row_loss, int64_t n,
                                       int64_t k) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * rows_per_block;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * rows_per_block + threadIdx.x / 32; i < n; i += warps) {
    const float* row = x + i * k;
    float* out = probs + i * k;
    float mx = row[0];
    for (int64_t j = lane; j < k; j += 32) mx = fmaxf(mx, row[j]);
    mx = warp_max(mx);
    double sum = 0;
    for (int64_t j = lane; j < k; j += 32) {
      const float e = expf(__fsub_rn(row[j], mx));
      out[j] = e;
      sum += e;
    }
    sum = warp_sum(sum);
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t j = lane; j < k; j += 32) out[j] = __fmul_rn(out[j], inv);
    if (lane == 0) row_loss[i] = log(sum) + static_cast<double>(mx) - static_cast<double>(row[labels[i]]);
  }
}

// loss = mean of the row losses: one block, summed in double.
constexpr int mean_threads = 1024;
__global__ void __launch_bounds__(mean_threads) mean_kernel(const double* row_loss, int64_t n, float* loss) {
  double s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += row_loss[i];
  s = block_sum(s);
  if (threadIdx.x == 0) *loss = static_cast<float>(s / static_cast<double>(n));
}

// dlogits = g·probs − g at the label: two roundings, as the CPU computes it.
__global__ void softmax_backward_kernel(const float* probs, const int32_t* labels, float* d, float g, int64_t k,
                                        int64_t total) {
  TANDEM_GRID_LOOP(e, total) {
    const float v = __fmul_rn(g, probs[e]);
    d[e] = e % k == labels[e / k] ? __fsub_rn(v, g) : v;
  }
}

// Labels come from data files: checked on the device before any output is written, failing
// with the CPU's message.
void check_labels(const Op& op, const Tensor& labels) {
  const IndexRange r = label_range(op.call);
  const IndexCheck bad = check_indices(op, static_cast<const int32_t*>(labels.data()), labels.numel(), r.lo, r.hi);
  if (bad.first_bad >= 0) index_error(op.call, r, bad.first_bad, bad.bad_value);
}

}  // namespace

void softmax_xent_forward(const OpCall& c) {
  const Op op(c);
  const Tensor &logits = *c.in[0], &labels = *c.in[1], &probs = *c.out[0], &loss = *c.out[1];
  const int64_t n = logits.shape()[0], k = logits.shape()[1];
  check_labels(op, labels);
  const Scratch row_loss(op, static_cast<size_t>(n) * sizeof(double));
  if (n > 0 && k > 0) {
    const auto blocks = static_cast<unsigned>(std::min<int64_t>((n + rows_per_block - 1) / rows_per_block, 65535));
    softmax_forward_kernel<<<blocks, block_threads, 0, op.s()>>>(
        static_cast<const float*>(logits.data()), static_cast<const int32_t*>(labels.data()),
        static_cast<float*>(probs.data()), row_loss.as<double>(), n, k);
    op.launched("softmax_xent_forward");
  }
  mean_kernel<<<1, mean_threads, 0, op.s()>>>(row_loss.as<double>(), n, static_cast<float*>(loss.data()));
  op.launched("softmax_xent_mean");
}
TANDEM_KERNEL(cuda_kernels, softmax_xent_forward, softmax_xent_forward);

void softmax_xent_backward(const OpCall& c) {
  const Op op(c);
  const Tensor &probs = *c.in[0], &labels = *c.in[1], &d = *c.out[0];
  const int64_t n = probs.shape()[0], k = probs.shape()[1];
  check_labels(op, labels);
  if (probs.numel() == 0) return;
  const float g = c.param<ScaleParams>().alpha / static_cast<float>(n);
  softmax_backward_kernel<<<op.grid(probs.numel()), block_threads, 0, op.s()>>>(
      static_cast<const float*>(probs.data()), static_cast<const int32_t*>(labels.data()),
      static_cast<float*>(d.data()), g, k, probs.numel());
  op.launched("softmax_xent_backward");
}
TANDEM_KERNEL(cuda_kernels, softmax_xent_backward, softmax_xent_backward);

}  // namespace tandem::cuda
