// Error feedback and gradient accumulation: the device-side state training keeps next to the
// codecs. Both run as ops on the gradient's stream, so the state never leaves its device.
#pragma once

#include "tandem/stream.h"
#include "tandem/tensor.h"

namespace tandem::compression {

/// Error feedback (EF-SGD): what a codec drops from a gradient is kept on the gradient's device
/// and added to the next one before compression, so over the steps nothing is lost:
/// Σ decoded + residual = Σ gradients.
class ErrorFeedback {
 public:
  /// grad ← grad + residual, in place, before compressing it.
  void compensate(Stream& s, const Tensor& grad);
  /// residual ← compensated − decoded, where decoded is what the receivers reconstruct.
  void update(Stream& s, const Tensor& compensated, const Tensor& decoded);
  /// Sets the residual (from a checkpoint); copied onto `value`'s device.
  void restore(Stream& s, const Tensor& value);
  /// Zero until the first update; lives on the gradient's device.
  const Tensor& residual() const { return residual_; }

 private:
  Tensor residual_;
};

/// Weighted gradient accumulation over micro-batches: sum = weight·grad on the first one,
/// sum += weight·grad after. With weights that add up to 1 the sum is the step's mean gradient.
void accumulate(Stream& s, const Tensor& grad, float weight, const Tensor& sum, bool first);

}  // namespace tandem::compression
