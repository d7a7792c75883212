// Softmax cross-entropy, numerically stable (max-shifted, loss from log-sum-exp), one warp per
// row. Sums in double as on the CPU; exp and log are CUDA's (within a few ulps of glibc's).
#include <algorithm>
#include <string>
#include <vector>

#include "common.cuh"
#include "op.h"

namespace tandem::cuda {
namespace {

constexpr int rows_per_block = block_threads / 32;

// probs = softmax(row); row_loss[i] = log Σ exp(row − max) + max − row[label], in double (0 on
// an ignored row).
__global__ void softmax_forward_kernel(const float* x, const int32_t* labels, float* probs, double* row_loss, int64_t n,
                                       int64_t k, int32_t ignore) {
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
    if (lane == 0)
      row_loss[i] = labels[i] == ignore ? 0.0 : log(sum) + static_cast<double>(mx) - static_cast<double>(row[labels[i]]);
  }
}

// loss = the row losses' sum over the kept rows' count: one block, summed in double.
constexpr int mean_threads = 1024;
__global__ void __launch_bounds__(mean_threads) mean_kernel(const double* row_loss, int64_t n, int64_t kept,
                                                            float* loss) {
  double s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += row_loss[i];
  s = block_sum(s);
  if (threadIdx.x == 0) *loss = kept == 0 ? 0.0f : static_cast<float>(s / static_cast<double>(kept));
}

// dlogits = g·probs − g at the label: two roundings, as the CPU computes it; 0 on an ignored row.
__global__ void softmax_backward_kernel(const float* probs, const int32_t* labels, float* d, float g, int64_t k,
                                        int64_t total, int32_t ignore) {
  TANDEM_GRID_LOOP(e, total) {
    const int32_t label = labels[e / k];
    const float v = __fmul_rn(g, probs[e]);
    d[e] = label == ignore ? 0.0f : e % k == label ? __fsub_rn(v, g) : v;
  }
}

// Labels come from data files: checked on the device before any output is written, failing
// with the CPU's message. Returns the rows kept (label ≠ the ignore index), counted on the host
// when there is an ignore index (the labels are small beside the logits).
int64_t check_labels(const Op& op, const Tensor& labels) {
  const IndexRange r = label_range(op.call);
  const auto* v = static_cast<const int32_t*>(labels.data());
  const IndexCheck bad = check_indices(op, v, labels.numel(), r.lo, r.hi, r.skip);
  if (bad.first_bad >= 0) index_error(op.call, r, bad.first_bad, bad.bad_value);
  const int32_t ignore = op.call.param<XentParams>().ignore_index;
  if (ignore == XentParams::no_ignore || labels.numel() == 0) return labels.numel();
  std::vector<int32_t> host(static_cast<size_t>(labels.numel()));
  op.read_back(v, host.data(), host.size() * sizeof(int32_t));
  return static_cast<int64_t>(std::count_if(host.begin(), host.end(), [&](int32_t l) { return l != ignore; }));
}

}  // namespace

void softmax_xent_forward(const OpCall& c) {
  const Op op(c);
  const Tensor &logits = *c.in[0], &labels = *c.in[1], &probs = *c.out[0], &loss = *c.out[1];
  const int64_t n = logits.shape()[0], k = logits.shape()[1];
  const int64_t kept = check_labels(op, labels);
  const int32_t ignore = c.param<XentParams>().ignore_index;
  const Scratch row_loss(op, static_cast<size_t>(n) * sizeof(double));
  if (n > 0 && k > 0) {
    const auto blocks = static_cast<unsigned>(std::min<int64_t>((n + rows_per_block - 1) / rows_per_block, 65535));
    softmax_forward_kernel<<<blocks, block_threads, 0, op.s()>>>(
        static_cast<const float*>(logits.data()), static_cast<const int32_t*>(labels.data()),
        static_cast<float*>(probs.data()), row_loss.as<double>(), n, k, ignore);
    op.launched("softmax_xent_forward");
  }
  mean_kernel<<<1, mean_threads, 0, op.s()>>>(row_loss.as<double>(), n, kept, static_cast<float*>(loss.data()));
  op.launched("softmax_xent_mean");
}
TANDEM_KERNEL(cuda_kernels, softmax_xent_forward, softmax_xent_forward);

void softmax_xent_backward(const OpCall& c) {
  const Op op(c);
  const Tensor &probs = *c.in[0], &labels = *c.in[1], &d = *c.out[0];
  const int64_t n = probs.shape()[0], k = probs.shape()[1];
  const int64_t kept = check_labels(op, labels);
  if (probs.numel() == 0) return;
  const auto& p = c.param<XentParams>();
  const float g = kept == 0 ? 0.0f : p.dloss / static_cast<float>(kept);
  softmax_backward_kernel<<<op.grid(probs.numel()), block_threads, 0, op.s()>>>(
      static_cast<const float*>(probs.data()), static_cast<const int32_t*>(labels.data()),
      static_cast<float*>(d.data()), g, k, probs.numel(), p.ignore_index);
  op.launched("softmax_xent_backward");
}
TANDEM_KERNEL(cuda_kernels, softmax_xent_backward, softmax_xent_backward);

}  // namespace tandem::cuda
