// Layer normalization over the last dimension, forward (saving each row's mean and 1/σ) and backward.
#include <cmath>
#include <string>

#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

// x [..., D] f32 (rank ≥ 1); gamma and the gradients of gamma and beta [D]; the statistics [rows].
void validate_rows(const OpCall& c, const Tensor& x, const Tensor& gamma, const Tensor& mean, const Tensor& rstd) {
  if (x.shape().rank() < 1) c.fail(opcheck::describe(c, x) + ": expected rank ≥ 1");
  opcheck::dtype(c, x, DType::f32);
  const int64_t d = x.shape()[x.shape().rank() - 1], rows = d == 0 ? 0 : x.numel() / d;
  for (const Tensor* t : {&gamma, &mean, &rstd}) opcheck::rank(c, *t, 1), opcheck::dtype(c, *t, DType::f32);
  opcheck::dim(c, gamma, 0, d, "the normalized dimension");
  opcheck::dim(c, mean, 0, rows, "the row count");
  opcheck::dim(c, rstd, 0, rows, "the row count");
}

void validate_forward(const OpCall& c) {
  const Tensor &x = *c.in[0], &gamma = *c.in[1], &beta = *c.in[2], &y = *c.out[0];
  const float eps = c.param<LayerNormParams>().eps;
  if (!(eps >= 0.0f) || !std::isfinite(eps)) c.fail("eps must be finite and ≥ 0 (got " + std::to_string(eps) + ")");
  validate_rows(c, x, gamma, *c.out[1], *c.out[2]);
  opcheck::same_shape(c, gamma, beta), opcheck::dtype(c, beta, DType::f32);
  opcheck::same_shape(c, x, y), opcheck::dtype(c, y, DType::f32);
}

void validate_backward(const OpCall& c) {
  const Tensor &x = *c.in[0], &dy = *c.in[1], &gamma = *c.in[2];
  validate_rows(c, x, gamma, *c.in[3], *c.in[4]);
  for (const Tensor* t : {&dy, c.out[0]}) opcheck::same_shape(c, x, *t), opcheck::dtype(c, *t, DType::f32);
  for (const Tensor* t : {c.out[1], c.out[2]}) opcheck::same_shape(c, gamma, *t), opcheck::dtype(c, *t, DType::f32);
}

// Two passes for the statistics and one to normalize, about 8 flops per element; the backward about as many.
OpCost cost(const OpCall& c) { return {8.0 * static_cast<double>(c.in[0]->numel()), opcheck::bytes_of(c)}; }

}  // namespace

const OpDesc opdesc::layernorm_forward("layernorm_forward", {"x", "gamma", "beta"},
                                       {writes("y"), writes("mean"), writes("rstd")}, validate_forward, cost,
                                       {{"y", "x"}});
const OpDesc opdesc::layernorm_backward("layernorm_backward", {"x", "dy", "gamma", "mean", "rstd"},
                                        {writes("dx"), writes("dgamma"), writes("dbeta")}, validate_backward, cost,
                                        {{"dx", "dy"}});

void ops::layernorm_forward(Stream& s, const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& y,
                            const Tensor& mean, const Tensor& rstd, const LayerNormParams& p) {
  dispatch(s, opdesc::layernorm_forward, {&x, &gamma, &beta}, {&y, &mean, &rstd}, &p);
}
void ops::layernorm_backward(Stream& s, const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean,
                             const Tensor& rstd, const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta) {
  dispatch(s, opdesc::layernorm_backward, {&x, &dy, &gamma, &mean, &rstd}, {&dx, &dgamma, &dbeta});
}

}  // namespace tandem
