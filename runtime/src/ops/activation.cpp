// The smooth element-wise activations (GELU in both of PyTorch's forms, tanh, sigmoid), forward and backward.
#include "check.h"
#include "tandem/ops.h"

namespace tandem {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::gelu:
      return "gelu";
    case Activation::gelu_tanh:
      return "gelu_tanh";
    case Activation::tanh:
      return "tanh";
    case Activation::sigmoid:
      return "sigmoid";
  }
  return "?";
}

namespace {

void validate(const OpCall& c) {
  const auto kind = static_cast<uint8_t>(c.param<ActivationParams>().kind);
  if (kind > static_cast<uint8_t>(Activation::sigmoid)) c.fail("unknown activation " + std::to_string(kind));
  const Tensor& x = *c.in[0];
  opcheck::dtype(c, x, DType::f32);
  for (const Tensor* t : c.in) opcheck::same_shape(c, x, *t), opcheck::same_dtype(c, x, *t);
  for (const Tensor* t : c.out) opcheck::same_shape(c, x, *t), opcheck::same_dtype(c, x, *t);
}

// An erf or tanh and a few multiplies per element.
OpCost cost(const OpCall& c) { return {8.0 * static_cast<double>(c.out[0]->numel()), opcheck::bytes_of(c)}; }

}  // namespace

const OpDesc opdesc::activation_forward("activation_forward", {"x"}, {writes("y")}, validate, cost, {{"y", "x"}});
const OpDesc opdesc::activation_backward("activation_backward", {"x", "dy"}, {writes("dx")}, validate, cost,
                                         {{"dx", "dy"}});

void ops::activation_forward(Stream& s, const Tensor& x, const Tensor& y, const ActivationParams& p) {
  dispatch(s, opdesc::activation_forward, {&x}, {&y}, &p);
}
void ops::activation_backward(Stream& s, const Tensor& x, const Tensor& dy, const Tensor& dx,
                              const ActivationParams& p) {
  dispatch(s, opdesc::activation_backward, {&x, &dy}, {&dx}, &p);
}

}  // namespace tandem
