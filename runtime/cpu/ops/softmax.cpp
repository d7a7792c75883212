// softmax along an axis (max-shifted; the sum in f32 in index order), its masked form and
// gradient. x is seen as [outer][n][inner]; each (outer, inner) line is independent.
#include <algorithm>
#include <cmath>

#include "../kernels.h"

namespace tandem::cpu {
namespace {

// One line of n values `step` apart. keep: the line's mask row (nullptr: every position kept).
void softmax_line(const float* x, float* y, int64_t n, int64_t step, float scale, const uint8_t* keep) {
  float mx = -INFINITY;
  for (int64_t j = 0; j < n; ++j)
    if (!keep || keep[j]) mx = std::max(mx, scale * x[j * step]);
  if (keep && mx == -INFINITY) {  // nothing kept: all 0 (PyTorch's −∞ scores would give NaN)
    for (int64_t j = 0; j < n; ++j) y[j * step] = 0.0f;
    return;
  }
  float sum = 0.0f;
  for (int64_t j = 0; j < n; ++j) {
    const float e = (!keep || keep[j]) ? std::exp(scale * x[j * step] - mx) : 0.0f;
    y[j * step] = e;
    sum += e;
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < n; ++j) y[j * step] *= inv;
}

}  // namespace

void softmax_forward(const OpCall& call) {
  const Tensor &x = *call.in[0], &y = *call.out[0];
  const auto& p = call.param<SoftmaxParams>();
  const AxisSplit s = split_at(x.shape(), normalize_axis(p.axis, x.shape().rank()));
  const auto* X = static_cast<const float*>(x.data());
  auto* Y = static_cast<float*>(y.data());
  parallel_for(s.outer * s.inner, x.numel(), [&](int64_t line) {
    const int64_t o = line / s.inner, i = line % s.inner, base = o * s.n * s.inner + i;
    softmax_line(X + base, Y + base, s.n, s.inner, p.scale, nullptr);
  });
}
TANDEM_KERNEL(cpu_kernels, softmax_forward, softmax_forward);

void masked_softmax_forward(const OpCall& call) {
  const Tensor &x = *call.in[0], &mask = *call.in[1], &y = *call.out[0];
  const auto& p = call.param<SoftmaxParams>();
  const int64_t n = x.shape()[x.shape().rank() - 1], rows = n == 0 ? 0 : x.numel() / n;
  const int64_t per_mask_row = rows / mask.shape()[0];
  const auto* X = static_cast<const float*>(x.data());
  const auto* M = static_cast<const uint8_t*>(mask.data());
  auto* Y = static_cast<float*>(y.data());
  parallel_for(rows, x.numel(),
               [&](int64_t r) { softmax_line(X + r * n, Y + r * n, n, 1, p.scale, M + (r / per_mask_row) * n); });
}
TANDEM_KERNEL(cpu_kernels, masked_softmax_forward, masked_softmax_forward);

// dx = scale·y·(dy − Σ dy·y), the sum in f32 in index order.
void softmax_backward(const OpCall& call) {
  const Tensor &y = *call.in[0], &dy = *call.in[1], &dx = *call.out[0];
  const auto& p = call.param<SoftmaxParams>();
  const AxisSplit s = split_at(y.shape(), normalize_axis(p.axis, y.shape().rank()));
  const auto* Y = static_cast<const float*>(y.data());
  const auto* DY = static_cast<const float*>(dy.data());
  auto* DX = static_cast<float*>(dx.data());
  parallel_for(s.outer * s.inner, y.numel(), [&](int64_t line) {
    const int64_t o = line / s.inner, i = line % s.inner, base = o * s.n * s.inner + i;
    float dot = 0.0f;
    for (int64_t j = 0; j < s.n; ++j) dot += DY[base + j * s.inner] * Y[base + j * s.inner];
    for (int64_t j = 0; j < s.n; ++j) {
      const int64_t e = base + j * s.inner;
      DX[e] = p.scale * (Y[e] * (DY[e] - dot));
    }
  });
}
TANDEM_KERNEL(cpu_kernels, softmax_backward, softmax_backward);

}  // namespace tandem::cpu
