// Host side of relu and bias, forward and backward, and add + ReLU (bias_relu.cl). f32.
#include <string>
#include <vector>

#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

using u64 = cl_ulong;

void relu_forward(const OpCall& c) {
  const Tensor& y = *c.out[0];
  Launch(c, "bias_relu", "relu_forward_f32").arg(*c.in[0]).arg(y).scalar<u64>(n_of(y)).run({n_of(y)});
}
TANDEM_KERNEL(opencl_kernels, relu_forward, relu_forward);

void relu_backward(const OpCall& c) {
  const Tensor& dx = *c.out[0];
  Launch(c, "bias_relu", "relu_backward_f32").arg(*c.in[0]).arg(*c.in[1]).arg(dx).scalar<u64>(n_of(dx)).run({n_of(dx)});
}
TANDEM_KERNEL(opencl_kernels, relu_backward, relu_backward);

void add_relu(const OpCall& c) {
  const Tensor& out = *c.out[0];
  Launch(c, "bias_relu", "add_relu_f32").arg(*c.in[0]).arg(*c.in[1]).arg(out).scalar<u64>(n_of(out)).run({n_of(out)});
}
TANDEM_KERNEL(opencl_kernels, add_relu, add_relu);

// y[i] op= bias[channel of i], one work item per element: bias_add_f32 or bias_relu_f32.
void launch_bias(const OpCall& c, const char* kernel) {
  const Tensor& y = *c.out[0];
  const Planes p = planes(y.shape());
  Launch(c, "bias_relu", kernel)
      .arg(*c.in[0])
      .arg(y)
      .scalar<u64>(p.c)
      .scalar<u64>(p.inner)
      .scalar<u64>(n_of(y))
      .run({n_of(y)});
}

void bias_add(const OpCall& c) { launch_bias(c, "bias_add_f32"); }
TANDEM_KERNEL(opencl_kernels, bias_add, bias_add);

void bias_relu(const OpCall& c) { launch_bias(c, "bias_relu_f32"); }
TANDEM_KERNEL(opencl_kernels, bias_relu, bias_relu);

void bias_backward(const OpCall& c) {
  const Planes p = planes(c.in[0]->shape());
  constexpr size_t wg = 64;  // BIAS_WG in bias_relu.cl
  Launch(c, "bias_relu", "bias_backward_f32")
      .arg(*c.in[0])
      .arg(*c.out[0])
      .scalar<u64>(p.n)
      .scalar<u64>(p.c)
      .scalar<u64>(p.inner)
      .run({static_cast<size_t>(p.c) * wg}, {wg});
}
TANDEM_KERNEL(opencl_kernels, bias_backward, bias_backward);

}  // namespace
}  // namespace tandem::opencl
