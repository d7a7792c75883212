// Host side of the convolutions (conv2d.cl): one work-item per output element, any stride,
// padding, dilation and groups. f32.
#include <string>
#include <vector>

#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

// Launches a conv kernel over `items` work-items with the geometry of x, w, y (C and K the
// totals over the groups).
void conv(const OpCall& c, const char* kernel, const Tensor& in0, const Tensor& in1, const Tensor& out, const Shape& x,
          const Shape& w, const Shape& y, size_t items) {
  const auto& p = c.param<Conv2dParams>();
  Launch l(c, "conv2d", kernel);
  l.arg(in0).arg(in1).arg(out);
  for (int64_t v : {x[0], x[1], x[2], x[3], w[0], w[2], w[3], y[2], y[3]}) l.scalar(c.count32(v, "size"));
  l.scalar(p.stride_h).scalar(p.stride_w).scalar(p.pad_h).scalar(p.pad_w);
  l.scalar(p.dilation_h).scalar(p.dilation_w).scalar(p.groups).run({items});
}

void conv2d_forward(const OpCall& c) {
  const Tensor &x = *c.in[0], &w = *c.in[1], &y = *c.out[0];
  conv(c, "conv2d_forward_f32", x, w, y, x.shape(), w.shape(), y.shape(), n_of(y));
}
TANDEM_KERNEL(opencl_kernels, conv2d_forward, conv2d_forward);

void conv2d_backward_data(const OpCall& c) {
  const Tensor &dy = *c.in[0], &w = *c.in[1], &dx = *c.out[0];
  conv(c, "conv2d_backward_data_f32", dy, w, dx, dx.shape(), w.shape(), dy.shape(), n_of(dx));
}
TANDEM_KERNEL(opencl_kernels, conv2d_backward_data, conv2d_backward_data);

void conv2d_backward_weights(const OpCall& c) {
  const Tensor &x = *c.in[0], &dy = *c.in[1], &dw = *c.out[0];
  conv(c, "conv2d_backward_weights_f32", x, dy, dw, x.shape(), dw.shape(), dy.shape(), n_of(dw));
}
TANDEM_KERNEL(opencl_kernels, conv2d_backward_weights, conv2d_backward_weights);

}  // namespace
}  // namespace tandem::opencl
