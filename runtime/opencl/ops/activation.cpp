// Host side of activation_forward and activation_backward (activation.cl): one work-item per
// element, the activation passed as its code. f32.
#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

// The kernels switch on Activation's codes.
static_assert(static_cast<int>(Activation::gelu) == 0 && static_cast<int>(Activation::gelu_tanh) == 1 &&
              static_cast<int>(Activation::tanh) == 2 && static_cast<int>(Activation::sigmoid) == 3);

void elementwise(const OpCall& c, const char* kernel) {
  Launch l(c, "activation", kernel);
  for (const Tensor* t : c.in) l.arg(*t);
  l.arg(*c.out[0])
      .scalar<cl_int>(static_cast<cl_int>(c.param<ActivationParams>().kind))
      .scalar<cl_ulong>(n_of(*c.out[0]))
      .run({n_of(*c.out[0])});
}

void activation_forward(const OpCall& c) { elementwise(c, "activation_forward_f32"); }
TANDEM_KERNEL(opencl_kernels, activation_forward, activation_forward);

void activation_backward(const OpCall& c) { elementwise(c, "activation_backward_f32"); }
TANDEM_KERNEL(opencl_kernels, activation_backward, activation_backward);

}  // namespace
}  // namespace tandem::opencl
