// Host side of max pooling (maxpool2d.cl): indices from outside the op are read back and
// checked before anything is written. f32.
#include <string>
#include <vector>

#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

using u64 = cl_ulong;

// The forward launch: maxpool2d_forward_f32 over x, or (with_bias) bias_relu_maxpool2d_f32 over
// max(x + bias, 0), which also takes the bias and the channel count.
void pool_forward(const OpCall& c, bool with_bias) {
  const auto& p = c.param<Pool2dParams>();
  const Shape &x = c.in[0]->shape(), &y = c.out[0]->shape();
  Launch l(c, "maxpool2d", with_bias ? "bias_relu_maxpool2d_f32" : "maxpool2d_forward_f32");
  l.arg(*c.in[0]);
  if (with_bias) l.arg(*c.in[1]);
  l.arg(*c.out[0]).arg(*c.out[1]).scalar<u64>(static_cast<u64>(x[0] * x[1]));
  if (with_bias) l.scalar(c.count32(x[1], "channels"));
  l.scalar(c.count32(x[2], "height"))
      .scalar(c.count32(x[3], "width"))
      .scalar(c.count32(y[2], "height"))
      .scalar(c.count32(y[3], "width"))
      .scalar(p.kernel)
      .scalar(p.stride)
      .run({n_of(*c.out[0])});
}

void maxpool2d_forward(const OpCall& c) { pool_forward(c, false); }
TANDEM_KERNEL(opencl_kernels, maxpool2d_forward, maxpool2d_forward);

void bias_relu_maxpool2d(const OpCall& c) { pool_forward(c, true); }
TANDEM_KERNEL(opencl_kernels, bias_relu_maxpool2d, bias_relu_maxpool2d);

void maxpool2d_backward(const OpCall& c) {
  const Tensor &dy = *c.in[0], &idx = *c.in[1], &dx = *c.out[0];
  const int per_out = c.count32(dy.shape()[2] * dy.shape()[3], "outputs");
  const int per_in = c.count32(dx.shape()[2] * dx.shape()[3], "inputs");
  // Indices come from outside the op: check them all before writing anything (a kernel would
  // scatter out of bounds), with the CPU's message.
  std::vector<int32_t> is(n_of(idx));
  read_back(c, idx, is.data());
  check_indices(c, pool_index_range(c), is.data(), idx.numel());
  const size_t planes = static_cast<size_t>(dy.shape()[0] * dy.shape()[1]);
  Launch(c, "maxpool2d", "maxpool2d_backward_f32")
      .arg(dy)
      .arg(idx)
      .arg(dx)
      .scalar<u64>(planes)
      .scalar(per_out)
      .scalar(per_in)
      .run({planes});
}
TANDEM_KERNEL(opencl_kernels, maxpool2d_backward, maxpool2d_backward);

}  // namespace
}  // namespace tandem::opencl
