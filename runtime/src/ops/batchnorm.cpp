// Batch normalization over the channel (dimension 1): the training forward pass (batch statistics,
// running statistics updated in place), the inference forward pass (running statistics) and the
// backward pass (from the statistics the training pass saved). x [N,C,...], per-channel [C]. f32.
#include <cmath>
#include <string>

#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

void validate_activation(const OpCall& c, const Tensor& x) {
  opcheck::dtype(c, x, DType::f32);
  if (x.shape().rank() < 2) c.fail(opcheck::describe(c, x) + ": expected rank ≥ 2 ([N,C,...])");
}

// A per-channel tensor: f32 [C].
void validate_channel(const OpCall& c, const Tensor& t, int64_t channels) {
  opcheck::dtype(c, t, DType::f32);
  opcheck::rank(c, t, 1);
  opcheck::dim(c, t, 0, channels, "length");
}

void validate_eps(const OpCall& c, const BatchNormParams& p) {
  if (!(p.eps >= 0.0f) || !std::isfinite(p.eps))
    c.fail("eps must be finite and ≥ 0 (got " + std::to_string(p.eps) + ")");
}

void validate_train(const OpCall& c) {
  const auto& p = c.param<BatchNormParams>();
  validate_eps(c, p);
  if (!(p.momentum >= 0.0f && p.momentum <= 1.0f))
    c.fail("momentum must be in [0, 1] (got " + std::to_string(p.momentum) + ")");
  const Tensor& x = *c.in[0];
  validate_activation(c, x);
  opcheck::same_shape(c, x, *c.out[0]);
  opcheck::dtype(c, *c.out[0], DType::f32);
  const int64_t channels = x.shape()[1];
  for (const Tensor* t : {c.in[1], c.in[2]}) validate_channel(c, *t, channels);
  for (size_t i = 1; i < c.out.size(); ++i) validate_channel(c, *c.out[i], channels);
  // The unbiased variance divides by n − 1 (PyTorch refuses the same).
  const int64_t per_channel = channels == 0 ? 0 : x.numel() / channels;
  if (channels > 0 && per_channel < 2)
    c.fail(opcheck::describe(c, x) + ": training needs more than one value per channel (has " +
           std::to_string(per_channel) + ")");
}

void validate_infer(const OpCall& c) {
  validate_eps(c, c.param<BatchNormParams>());
  const Tensor& x = *c.in[0];
  validate_activation(c, x);
  opcheck::same_shape(c, x, *c.out[0]);
  opcheck::dtype(c, *c.out[0], DType::f32);
  for (size_t i = 1; i < c.in.size(); ++i) validate_channel(c, *c.in[i], x.shape()[1]);
}

void validate_backward(const OpCall& c) {
  const Tensor &x = *c.in[0], &dy = *c.in[1], &dx = *c.out[0];
  validate_activation(c, x);
  for (const Tensor* t : {&dy, &dx}) {
    opcheck::same_shape(c, x, *t);
    opcheck::dtype(c, *t, DType::f32);
  }
  for (size_t i = 2; i < c.in.size(); ++i) validate_channel(c, *c.in[i], x.shape()[1]);
  for (size_t i = 1; i < c.out.size(); ++i) validate_channel(c, *c.out[i], x.shape()[1]);
}

void validate_fold(const OpCall& c) {
  validate_eps(c, c.param<BatchNormParams>());
  const Tensor &w = *c.in[0], &w_out = *c.out[0];
  validate_activation(c, w);  // [K, ...]: K the output channels, dimension 0 here
  opcheck::same_shape(c, w, w_out);
  opcheck::dtype(c, w_out, DType::f32);
  for (size_t i = 1; i < c.in.size(); ++i) validate_channel(c, *c.in[i], w.shape()[0]);
  validate_channel(c, *c.out[1], w.shape()[0]);
}

// Per element: training two statistics passes and the normalization (≈ 7 flops); inference the
// normalization (3); backward two reductions and the gradient (≈ 9).
template <int Flops>
OpCost cost(const OpCall& c) {
  return {Flops * static_cast<double>(c.in[0]->numel()), opcheck::bytes_of(c)};
}

}  // namespace

const OpDesc opdesc::batchnorm_forward_train("batchnorm_forward_train", {"x", "gamma", "beta"},
                                             {writes("y"), writes("save_mean"), writes("save_invstd"),
                                              updates("running_mean"), updates("running_var")},
                                             validate_train, cost<7>);
const OpDesc opdesc::batchnorm_forward_infer("batchnorm_forward_infer",
                                             {"x", "gamma", "beta", "running_mean", "running_var"}, {writes("y")},
                                             validate_infer, cost<3>, {{"y", "x"}});
// dx may be dy: every kernel finishes its reductions over dy before it writes dx, and writes
// each dx element from the dy element of the same position only.
const OpDesc opdesc::batchnorm_backward("batchnorm_backward", {"x", "dy", "gamma", "save_mean", "save_invstd"},
                                        {writes("dx"), writes("dgamma"), writes("dbeta")}, validate_backward, cost<9>,
                                        {{"dx", "dy"}});

// One multiply per weight, a few flops per channel.
const OpDesc opdesc::batchnorm_fold("batchnorm_fold", {"w", "gamma", "beta", "running_mean", "running_var"},
                                    {writes("w_out"), updates("bias")}, validate_fold, cost<1>);

void ops::batchnorm_fold(Stream& s, const Tensor& w, const Tensor& gamma, const Tensor& beta,
                         const Tensor& running_mean, const Tensor& running_var, const Tensor& w_out, const Tensor& bias,
                         const BatchNormParams& p) {
  dispatch(s, opdesc::batchnorm_fold, {&w, &gamma, &beta, &running_mean, &running_var}, {&w_out, &bias}, &p);
}
void ops::batchnorm_forward_train(Stream& s, const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& y,
                                  const Tensor& save_mean, const Tensor& save_invstd, const Tensor& running_mean,
                                  const Tensor& running_var, const BatchNormParams& p) {
  dispatch(s, opdesc::batchnorm_forward_train, {&x, &gamma, &beta},
           {&y, &save_mean, &save_invstd, &running_mean, &running_var}, &p);
}
void ops::batchnorm_forward_infer(Stream& s, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                  const Tensor& running_mean, const Tensor& running_var, const Tensor& y,
                                  const BatchNormParams& p) {
  dispatch(s, opdesc::batchnorm_forward_infer, {&x, &gamma, &beta, &running_mean, &running_var}, {&y}, &p);
}
void ops::batchnorm_backward(Stream& s, const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& save_mean,
                             const Tensor& save_invstd, const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta) {
  dispatch(s, opdesc::batchnorm_backward, {&x, &dy, &gamma, &save_mean, &save_invstd}, {&dx, &dgamma, &dbeta});
}

}  // namespace tandem
