// bias_add / bias_backward (channel = dimension 1), relu forward / backward, and the fused forms
// bias + ReLU and add + ReLU.
#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

void validate_bias(const OpCall& c, const Tensor& act, const Tensor& bias) {
  opcheck::dtype(c, act, DType::f32);
  opcheck::dtype(c, bias, DType::f32);
  if (act.shape().rank() < 2) c.fail(opcheck::describe(c, act) + ": expected rank ≥ 2 ([N,C,...])");
  opcheck::rank(c, bias, 1);
  opcheck::dim(c, bias, 0, act.shape()[1], "length");
}

void validate_bias_add(const OpCall& c) { validate_bias(c, *c.out[0], *c.in[0]); }
void validate_bias_backward(const OpCall& c) { validate_bias(c, *c.in[0], *c.out[0]); }

void validate_relu(const OpCall& c) {
  const Tensor& x = *c.in[0];
  opcheck::dtype(c, x, DType::f32);
  for (const Tensor* t : c.in) opcheck::same_shape(c, x, *t), opcheck::same_dtype(c, x, *t);
  for (const Tensor* t : c.out) opcheck::same_shape(c, x, *t), opcheck::same_dtype(c, x, *t);
}

// One flop per element; bias_add and relu read and write their activation once.
OpCost elementwise_cost(const OpCall& c) {
  const Tensor& big = c.in[0]->numel() >= c.out[0]->numel() ? *c.in[0] : *c.out[0];
  return {static_cast<double>(big.numel()), opcheck::bytes_of(c)};
}

OpCost bias_add_cost(const OpCall& c) {
  const Tensor& y = *c.out[0];
  return {static_cast<double>(y.numel()),
          2.0 * static_cast<double>(y.nbytes()) + static_cast<double>(c.in[0]->nbytes())};
}

}  // namespace

const OpDesc opdesc::bias_add("bias_add", {"bias"}, {updates("y")}, validate_bias_add, bias_add_cost);
// Fused: the producer's output read once and written once instead of twice each.
const OpDesc opdesc::bias_relu("bias_relu", {"bias"}, {updates("y")}, validate_bias_add, bias_add_cost);
const OpDesc opdesc::bias_backward("bias_backward", {"dy"}, {writes("dbias")}, validate_bias_backward,
                                   elementwise_cost);
const OpDesc opdesc::relu_forward("relu_forward", {"x"}, {writes("y")}, validate_relu, elementwise_cost, {{"y", "x"}});
const OpDesc opdesc::add_relu("add_relu", {"a", "b"}, {writes("c")}, validate_relu, elementwise_cost,
                              {{"c", "a"}, {"c", "b"}});
const OpDesc opdesc::relu_backward("relu_backward", {"x", "dy"}, {writes("dx")}, validate_relu, elementwise_cost,
                                   {{"dx", "dy"}});

void ops::bias_add(Stream& s, const Tensor& y, const Tensor& bias) { dispatch(s, opdesc::bias_add, {&bias}, {&y}); }
void ops::bias_relu(Stream& s, const Tensor& y, const Tensor& bias) { dispatch(s, opdesc::bias_relu, {&bias}, {&y}); }
void ops::bias_backward(Stream& s, const Tensor& dy, const Tensor& dbias) {
  dispatch(s, opdesc::bias_backward, {&dy}, {&dbias});
}
void ops::relu_forward(Stream& s, const Tensor& x, const Tensor& y) { dispatch(s, opdesc::relu_forward, {&x}, {&y}); }
void ops::add_relu(Stream& s, const Tensor& a, const Tensor& b, const Tensor& c) {
  dispatch(s, opdesc::add_relu, {&a, &b}, {&c});
}
void ops::relu_backward(Stream& s, const Tensor& x, const Tensor& dy, const Tensor& dx) {
  dispatch(s, opdesc::relu_backward, {&x, &dy}, {&dx});
}

}  // namespace tandem
