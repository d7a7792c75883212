// Naive reference implementations of every layer op, written for clarity, not speed, and
// independent of the backends: the ground truth of the all-ops-on-all-devices suite.
#pragma once

#include <cstdint>
#include <vector>

#include "tandem/ops.h"

namespace tandem::ref {

/// A host tensor of f32 values (i32 data such as labels is held in its own vectors).
struct Host {
  Shape shape;
  std::vector<float> v;
  int64_t numel() const { return shape.numel(); }
};

Host random(const Shape& s, uint32_t seed, float lo = -1.0f, float hi = 1.0f);
/// Values that are pairwise at least `gap` apart (shuffled), so max and relu have no near-ties.
Host spaced(const Shape& s, uint32_t seed, float gap);

Host gemm(const Host& a, const Host& b, const Host& c, const GemmParams& p);
Host conv2d_forward(const Host& x, const Host& w, const Conv2dParams& p);
Host conv2d_backward_data(const Host& dy, const Host& w, const Shape& x_shape, const Conv2dParams& p);
Host conv2d_backward_weights(const Host& x, const Host& dy, const Shape& w_shape, const Conv2dParams& p);
Host bias_add(const Host& y, const Host& bias);
Host bias_backward(const Host& dy);
Host relu_forward(const Host& x);
Host relu_backward(const Host& x, const Host& dy);
/// Returns y; fills indices.
Host maxpool2d_forward(const Host& x, const Pool2dParams& p, std::vector<int32_t>& indices);
Host maxpool2d_backward(const Host& dy, const std::vector<int32_t>& indices, const Shape& x_shape);
/// Returns probs; sets loss (the mean over rows whose label is not `ignore`).
Host softmax_xent_forward(const Host& logits, const std::vector<int32_t>& labels, float& loss,
                          int32_t ignore = XentParams::no_ignore);
Host softmax_xent_backward(const Host& probs, const std::vector<int32_t>& labels, float dloss,
                           int32_t ignore = XentParams::no_ignore);

Host avgpool2d_forward(const Host& x, const Pool2dParams& p);
Host avgpool2d_backward(const Host& dy, const Shape& x_shape, const Pool2dParams& p);
Host global_avgpool_forward(const Host& x);
Host global_avgpool_backward(const Host& dy, const Shape& x_shape);

/// x·1/(1 − p) where random_uniform(key, i) ≥ p, else 0 (the backward pass is the same map of dy).
Host dropout(const Host& x, const DropoutParams& p);

/// One Adam (decoupled = false: weight decay added to the gradient) or AdamW (decoupled: w ←
/// w − lr·wd·w) step t ≥ 1 from the textbook formulas in double: m ← β1·m + (1 − β1)·g,
/// v ← β2·v + (1 − β2)·g², w ← w − lr·m̂/(√v̂ + eps), m̂ = m/(1 − β1^t), v̂ = v/(1 − β2^t).
void adam(const Host& g, Host& w, Host& m, Host& v, double lr, double beta1, double beta2, double eps, double wd,
          bool decoupled, int64_t t);

/// Training batch normalization: its output and the statistics it saves and updates.
struct BatchNormTrain {
  Host y, save_mean, save_invstd, running_mean, running_var;
};
BatchNormTrain batchnorm_forward_train(const Host& x, const Host& gamma, const Host& beta, const Host& running_mean,
                                       const Host& running_var, const BatchNormParams& p);
Host batchnorm_forward_infer(const Host& x, const Host& gamma, const Host& beta, const Host& running_mean,
                             const Host& running_var, const BatchNormParams& p);
struct BatchNormGrads {
  Host dx, dgamma, dbeta;
};
BatchNormGrads batchnorm_backward(const Host& x, const Host& dy, const Host& gamma, const Host& save_mean,
                                  const Host& save_invstd);

}  // namespace tandem::ref
