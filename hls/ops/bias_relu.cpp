// bias_add and bias_backward on the bias core (tandem_bias), relu on the vector unit. The fused
// bias + relu + pool core (tandem_bias_relu_pool) serves no single op: the graph's fusion pass
// is what will use it.
#include "binding.h"
#include "cores.h"

namespace tandem::fpga {
namespace {

void bind_bias(const OpCall& c, CoreCall& k, const Tensor& big, bool backward) {
  const Planes p = planes(big.shape());
  k.in(*c.in[0]).out(*c.out[0]).dim(p.n, "n").dim(p.c, "c").dim(p.inner, "inner").arg(int{backward});
  k.model([=](const CardProfile& card) { return fpga::bias(card, p.n, p.c, p.inner, backward).seconds; });
}

void bind_bias_add(const OpCall& c, CoreCall& k) { bind_bias(c, k, *c.out[0], false); }
TANDEM_CORE_KERNEL(bias_add, tandem_bias, bind_bias_add);

void bind_bias_backward(const OpCall& c, CoreCall& k) { bind_bias(c, k, *c.in[0], true); }
TANDEM_CORE_KERNEL(bias_backward, tandem_bias, bind_bias_backward);

void bind_relu_forward(const OpCall& c, CoreCall& k) { bind_vector(c, k, kRelu, c.in[0], nullptr, 1, 0.0f); }
TANDEM_CORE_KERNEL(relu_forward, tandem_elementwise, bind_relu_forward);

// a = x, b = dy.
void bind_relu_backward(const OpCall& c, CoreCall& k) { bind_vector(c, k, kReluBackward, c.in[0], c.in[1], 2, 0.0f); }
TANDEM_CORE_KERNEL(relu_backward, tandem_elementwise, bind_relu_backward);

}  // namespace
}  // namespace tandem::fpga
