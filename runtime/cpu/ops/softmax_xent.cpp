// Softmax cross-entropy, numerically stable (max-shifted, loss from log-sum-exp), over the rows
// whose label is not the ignore index.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../kernels.h"

namespace tandem::cpu {
namespace {

// The rows whose label is not the ignore index: the loss's denominator.
int64_t kept_rows(const int32_t* labels, int64_t n, int32_t ignore) {
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) kept += labels[i] != ignore;
  return kept;
}

}  // namespace

void softmax_xent_forward(const OpCall& call) {
  const Tensor &logits = *call.in[0], &labels = *call.in[1], &probs = *call.out[0], &loss = *call.out[1];
  const int64_t n = logits.shape()[0], k = logits.shape()[1];
  check_indices(call, label_range(call), static_cast<const int32_t*>(labels.data()), labels.numel());
  const float* x = static_cast<const float*>(logits.data());
  const int32_t* ls = static_cast<const int32_t*>(labels.data());
  float* pr = static_cast<float*>(probs.data());
  const int32_t ignore = call.param<XentParams>().ignore_index;
  std::vector<double> row_loss(static_cast<size_t>(n));
  parallel_for(n, logits.numel(), [&](int64_t i) {
    const float* row = x + i * k;
    float* out = pr + i * k;
    float mx = row[0];
    for (int64_t j = 1; j < k; ++j) mx = std::max(mx, row[j]);
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) {
      out[j] = std::exp(row[j] - mx);
      sum += out[j];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t j = 0; j < k; ++j) out[j] *= inv;
    row_loss[static_cast<size_t>(i)] = ls[i] == ignore ? 0.0 : std::log(sum) + mx - row[ls[i]];
  });
  double total = 0;
  for (double l : row_loss) total += l;
  const int64_t kept = kept_rows(ls, n, ignore);
  *static_cast<float*>(loss.data()) = kept == 0 ? 0.0f : static_cast<float>(total / static_cast<double>(kept));
}
TANDEM_KERNEL(cpu_kernels, softmax_xent_forward, softmax_xent_forward);

void softmax_xent_backward(const OpCall& call) {
  const Tensor &probs = *call.in[0], &labels = *call.in[1], &dlogits = *call.out[0];
  const int64_t n = probs.shape()[0], k = probs.shape()[1];
  check_indices(call, label_range(call), static_cast<const int32_t*>(labels.data()), labels.numel());
  const auto& p = call.param<XentParams>();
  const float* pr = static_cast<const float*>(probs.data());
  const int32_t* ls = static_cast<const int32_t*>(labels.data());
  float* d = static_cast<float*>(dlogits.data());
  const int64_t kept = kept_rows(ls, n, p.ignore_index);
  const float g = kept == 0 ? 0.0f : p.dloss / static_cast<float>(kept);
  parallel_for(n, probs.numel(), [&](int64_t i) {
    if (ls[i] == p.ignore_index) {
      std::fill(d + i * k, d + (i + 1) * k, 0.0f);
      return;
    }
    for (int64_t j = 0; j < k; ++j) d[i * k + j] = g * pr[i * k + j];
    d[i * k + ls[i]] -= g;
  });
}
TANDEM_KERNEL(cpu_kernels, softmax_xent_backward, softmax_xent_backward);

}  // namespace tandem::cpu
