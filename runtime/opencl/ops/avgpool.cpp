// Host side of average pooling (avgpool.cl). f32.
#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

using u64 = cl_ulong;

// x [N,C,H,W] and y [N,C,P,Q] of a windowed pooling, over `items` work-items.
void window(const OpCall& c, const char* kernel, const Shape& x, const Shape& y, size_t items) {
  const auto& p = c.param<Pool2dParams>();
  Launch(c, "avgpool", kernel)
      .arg(*c.in[0])
      .arg(*c.out[0])
      .scalar<u64>(static_cast<u64>(x[0] * x[1]))
      .scalar(c.count32(x[2], "height"))
      .scalar(c.count32(x[3], "width"))
      .scalar(c.count32(y[2], "height"))
      .scalar(c.count32(y[3], "width"))
      .scalar(p.kernel)
      .scalar(p.stride)
      .run({items});
}

void avgpool2d_forward(const OpCall& c) {
  window(c, "avgpool2d_forward_f32", c.in[0]->shape(), c.out[0]->shape(), n_of(*c.out[0]));
}
TANDEM_KERNEL(opencl_kernels, avgpool2d_forward, avgpool2d_forward);

void avgpool2d_backward(const OpCall& c) {
  window(c, "avgpool2d_backward_f32", c.out[0]->shape(), c.in[0]->shape(), n_of(*c.out[0]));
}
TANDEM_KERNEL(opencl_kernels, avgpool2d_backward, avgpool2d_backward);

void global_avgpool_forward(const OpCall& c) {
  const Shape& x = c.in[0]->shape();
  const size_t planes = static_cast<size_t>(x[0] * x[1]);
  Launch(c, "avgpool", "global_avgpool_forward_f32")
      .arg(*c.in[0])
      .arg(*c.out[0])
      .scalar<u64>(planes)
      .scalar<u64>(static_cast<u64>(x[2] * x[3]))
      .run({planes});
}
TANDEM_KERNEL(opencl_kernels, global_avgpool_forward, global_avgpool_forward);

void global_avgpool_backward(const OpCall& c) {
  const Tensor& dx = *c.out[0];
  Launch(c, "avgpool", "global_avgpool_backward_f32")
      .arg(*c.in[0])
      .arg(dx)
      .scalar<u64>(static_cast<u64>(dx.shape()[2] * dx.shape()[3]))
      .scalar<u64>(n_of(dx))
      .run({n_of(dx)});
}
TANDEM_KERNEL(opencl_kernels, global_avgpool_backward, global_avgpool_backward);

}  // namespace
}  // namespace tandem::opencl
