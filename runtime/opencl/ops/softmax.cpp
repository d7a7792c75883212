// Host side of softmax_forward, masked_softmax_forward and softmax_backward (softmax.cl): one
// work-item per line along the axis. f32.
#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

using u64 = cl_ulong;

// The (outer, inner) lines along p.axis of x, as one kernel launch over them.
void along_axis(const OpCall& c, const char* kernel, const Tensor& x) {
  const auto& p = c.param<SoftmaxParams>();
  const AxisSplit s = split_at(x.shape(), normalize_axis(p.axis, x.shape().rank()));
  const u64 lines = static_cast<u64>(s.outer * s.inner);
  Launch l(c, "softmax", kernel);
  for (const Tensor* t : c.in) l.arg(*t);
  l.arg(*c.out[0]).scalar(lines).scalar<u64>(s.n).scalar<u64>(s.inner).scalar(p.scale).run({lines});
}

void softmax_forward(const OpCall& c) { along_axis(c, "softmax_forward_f32", *c.in[0]); }
TANDEM_KERNEL(opencl_kernels, softmax_forward, softmax_forward);

void softmax_backward(const OpCall& c) { along_axis(c, "softmax_backward_f32", *c.in[0]); }
TANDEM_KERNEL(opencl_kernels, softmax_backward, softmax_backward);

void masked_softmax_forward(const OpCall& c) {
  const Tensor &x = *c.in[0], &mask = *c.in[1];
  const u64 n = static_cast<u64>(x.shape()[x.shape().rank() - 1]), rows = n == 0 ? 0 : n_of(x) / n;
  Launch(c, "softmax", "masked_softmax_forward_f32")
      .arg(x)
      .arg(mask)
      .arg(*c.out[0])
      .scalar(rows)
      .scalar(n)
      .scalar<u64>(rows / static_cast<u64>(mask.shape()[0]))
      .scalar(c.param<SoftmaxParams>().scale)
      .run({rows});
}
TANDEM_KERNEL(opencl_kernels, masked_softmax_forward, masked_softmax_forward);

}  // namespace
}  // namespace tandem::opencl
