// axpy, scale, add (used for gradient accumulation) and cast between dtypes.
#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

// All tensors of the call: one floating dtype, one shape.
void validate_same(const OpCall& c) {
  const Tensor& first = c.in.empty() ? *c.out[0] : *c.in[0];
  opcheck::floating(c, first);
  for (const Tensor* t : c.in) opcheck::same_shape(c, first, *t), opcheck::same_dtype(c, first, *t);
  for (const Tensor* t : c.out) opcheck::same_shape(c, first, *t), opcheck::same_dtype(c, first, *t);
}

void validate_cast(const OpCall& c) {
  if (c.in[0]->numel() != c.out[0]->numel())
    c.fail(opcheck::describe(c, *c.in[0]) + " and " + opcheck::describe(c, *c.out[0]) + ": element counts differ");
}

OpCost cost(const OpCall& c) { return {static_cast<double>(c.out[0]->numel()), opcheck::bytes_of(c)}; }

}  // namespace

const OpDesc opdesc::axpy("axpy", {"x"}, {updates("y")}, validate_same, cost);
const OpDesc opdesc::scale("scale", {}, {updates("x")}, validate_same, cost);
const OpDesc opdesc::fill("fill", {}, {writes("y")}, validate_same, cost);
const OpDesc opdesc::add("add", {"a", "b"}, {writes("c")}, validate_same, cost, {{"c", "a"}, {"c", "b"}});
const OpDesc opdesc::sub("sub", {"a", "b"}, {writes("c")}, validate_same, cost, {{"c", "a"}, {"c", "b"}});
const OpDesc opdesc::mul("mul", {"a", "b"}, {writes("c")}, validate_same, cost, {{"c", "a"}, {"c", "b"}});
const OpDesc opdesc::cast("cast", {"src"}, {writes("dst")}, validate_cast, cost, {{"dst", "src"}});

void ops::axpy(Stream& s, float alpha, const Tensor& x, const Tensor& y) {
  const ScaleParams p{alpha};
  dispatch(s, opdesc::axpy, {&x}, {&y}, &p);
}
void ops::scale(Stream& s, float alpha, const Tensor& x) {
  const ScaleParams p{alpha};
  dispatch(s, opdesc::scale, {}, {&x}, &p);
}
void ops::fill(Stream& s, const Tensor& y, float value) {
  const FillParams p{value};
  dispatch(s, opdesc::fill, {}, {&y}, &p);
}
void ops::mul(Stream& s, const Tensor& a, const Tensor& b, const Tensor& c) {
  dispatch(s, opdesc::mul, {&a, &b}, {&c});
}
void ops::sub(Stream& s, const Tensor& a, const Tensor& b, const Tensor& c) {
  dispatch(s, opdesc::sub, {&a, &b}, {&c});
}
void ops::add(Stream& s, const Tensor& a, const Tensor& b, const Tensor& c) {
  dispatch(s, opdesc::add, {&a, &b}, {&c});
}
void ops::cast(Stream& s, const Tensor& src, const Tensor& dst) { dispatch(s, opdesc::cast, {&src}, {&dst}); }

}  // namespace tandem
