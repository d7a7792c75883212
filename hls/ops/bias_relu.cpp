// bias_add and bias_backward on the bias core (tandem_bias), relu on the vector unit, and
// bias + ReLU + max pool on the fused core (tandem_bias_relu_pool), which the graph's fusion
// pass (graph::fuse_bias_relu_pool) runs for a convolution's tail.
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

void bind_bias_relu_maxpool2d(const OpCall& c, CoreCall& k) {
  const auto& p = c.param<Pool2dParams>();
  const Shape& x = c.in[0]->shape();
  const int64_t n = x[0], ch = x[1], h = x[2], w = x[3];
  k.in(*c.in[0]).in(*c.in[1]).out(*c.out[0]).out(*c.out[1]).dim(n, "n").dim(ch, "c").dim(h, "h").dim(w, "w");
  k.arg(p.kernel).arg(p.stride);
  k.model([=](const CardProfile& card) { return fpga::bias_relu_pool(card, n, ch, h, w, p.kernel, p.stride).seconds; });
}
TANDEM_CORE_KERNEL(bias_relu_maxpool2d, tandem_bias_relu_pool, bind_bias_relu_maxpool2d);

}  // namespace
}  // namespace tandem::fpga
