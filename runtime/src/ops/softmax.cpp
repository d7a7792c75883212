// softmax along an axis, its masked form (attention with a key-padding mask) and their gradient.
#include <cmath>
#include <string>

#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

void validate_params(const OpCall& c, const Tensor& x) {
  const auto& p = c.param<SoftmaxParams>();
  opcheck::axis(c, x, p.axis);
  if (!std::isfinite(p.scale)) c.fail("scale must be finite (got " + std::to_string(p.scale) + ")");
  opcheck::dtype(c, x, DType::f32);
}

void validate(const OpCall& c) {
  const Tensor &x = *c.in[0], &y = *c.out[0];
  validate_params(c, x);
  opcheck::same_shape(c, x, y), opcheck::same_dtype(c, x, y);
}

void validate_masked(const OpCall& c) {
  const Tensor &x = *c.in[0], &mask = *c.in[1], &y = *c.out[0];
  validate(c);
  const int rank = x.shape().rank();
  if (opcheck::axis(c, x, c.param<SoftmaxParams>().axis) != rank - 1)
    c.fail("the masked softmax normalizes over the last axis only");
  opcheck::rank(c, mask, 2);
  opcheck::dtype(c, mask, DType::u8);
  const int64_t n = x.shape()[rank - 1], rows = n == 0 ? 0 : x.numel() / n;
  opcheck::dim(c, mask, 1, n, "the masked axis");
  if (mask.shape()[0] == 0 || rows % mask.shape()[0] != 0)
    c.fail(opcheck::describe(c, mask) + ": its rows must divide the " + std::to_string(rows) + " rows of " +
           opcheck::describe(c, x));
  (void)y;
}

void validate_backward(const OpCall& c) {
  const Tensor &y = *c.in[0], &dy = *c.in[1], &dx = *c.out[0];
  validate_params(c, y);
  opcheck::same_shape(c, y, dy), opcheck::same_dtype(c, y, dy);
  opcheck::same_shape(c, y, dx), opcheck::same_dtype(c, y, dx);
}

// Forward: max, exp, sum, scale per element; backward: two multiplies and a subtraction.
OpCost cost(const OpCall& c) { return {4.0 * static_cast<double>(c.out[0]->numel()), opcheck::bytes_of(c)}; }

}  // namespace

const OpDesc opdesc::softmax_forward("softmax_forward", {"x"}, {writes("y")}, validate, cost, {{"y", "x"}});
const OpDesc opdesc::masked_softmax_forward("masked_softmax_forward", {"x", "mask"}, {writes("y")}, validate_masked,
                                            cost, {{"y", "x"}});
const OpDesc opdesc::softmax_backward("softmax_backward", {"y", "dy"}, {writes("dx")}, validate_backward, cost,
                                      {{"dx", "dy"}});

void ops::softmax_forward(Stream& s, const Tensor& x, const Tensor& y, const SoftmaxParams& p) {
  dispatch(s, opdesc::softmax_forward, {&x}, {&y}, &p);
}
void ops::masked_softmax_forward(Stream& s, const Tensor& x, const Tensor& mask, const Tensor& y,
                                 const SoftmaxParams& p) {
  dispatch(s, opdesc::masked_softmax_forward, {&x, &mask}, {&y}, &p);
}
void ops::softmax_backward(Stream& s, const Tensor& y, const Tensor& dy, const Tensor& dx, const SoftmaxParams& p) {
  dispatch(s, opdesc::softmax_backward, {&y, &dy}, {&dx}, &p);
}

}  // namespace tandem
