#include "tandem/compression/feedback.h"

#include "tandem/ops.h"

namespace tandem::compression {

void ErrorFeedback::compensate(Stream& s, const Tensor& grad) {
  if (!residual_) residual_ = Tensor::zeros(grad.device(), grad.shape());
  ops::add(s, grad, residual_, grad);
}

void ErrorFeedback::update(Stream& s, const Tensor& compensated, const Tensor& decoded) {
  if (!residual_) residual_ = Tensor::zeros(compensated.device(), compensated.shape());
  ops::cast(s, compensated, residual_);
  ops::axpy(s, -1.0f, decoded, residual_);
}

void ErrorFeedback::restore(Stream& s, const Tensor& value) {
  if (!residual_) residual_ = Tensor::empty(value.device(), value.shape());
  ops::cast(s, value, residual_);
}

void accumulate(Stream& s, const Tensor& grad, float weight, const Tensor& sum, bool first) {
  if (first) {
    ops::cast(s, grad, sum);
    ops::scale(s, weight, sum);
  } else {
    ops::axpy(s, weight, grad, sum);
  }
}

}  // namespace tandem::compression
