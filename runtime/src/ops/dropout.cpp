// Dropout, forward and backward, its mask drawn from Philox (DropoutParams::key): element i is
// kept iff random_uniform(key, i) ≥ p, on every device alike, and the backward pass draws the
// same mask again instead of reading a stored one.
#include <string>

#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

void validate(const OpCall& c) {
  const auto& p = c.param<DropoutParams>();
  if (!(p.p >= 0.0f && p.p <= 1.0f)) c.fail("p must be in [0, 1] (got " + std::to_string(p.p) + ")");
  opcheck::dtype(c, *c.in[0], DType::f32);
  opcheck::same_shape(c, *c.in[0], *c.out[0]);
  opcheck::same_dtype(c, *c.in[0], *c.out[0]);
}

// A compare and a multiply per element (the random draw is not counted as flops).
OpCost cost(const OpCall& c) { return {2.0 * static_cast<double>(c.in[0]->numel()), opcheck::bytes_of(c)}; }

}  // namespace

const OpDesc opdesc::dropout_forward("dropout_forward", {"x"}, {writes("y")}, validate, cost, {{"y", "x"}});
const OpDesc opdesc::dropout_backward("dropout_backward", {"dy"}, {writes("dx")}, validate, cost, {{"dx", "dy"}});

void ops::dropout_forward(Stream& s, const Tensor& x, const Tensor& y, const DropoutParams& p) {
  dispatch(s, opdesc::dropout_forward, {&x}, {&y}, &p);
}
void ops::dropout_backward(Stream& s, const Tensor& dy, const Tensor& dx, const DropoutParams& p) {
  dispatch(s, opdesc::dropout_backward, {&dy}, {&dx}, &p);
}

}  // namespace tandem
