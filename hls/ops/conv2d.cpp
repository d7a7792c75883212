// The convolutions on the MAC engine: forward (im2col columns streamed into the GEMM engine),
// input gradient (the transposed convolution) and weight gradient.
#include "binding.h"
#include "cores.h"

namespace tandem::fpga {
namespace {

// The cores' geometry arguments: x [n,c,h,w], w [k,c,r,s], then stride and padding (groups = 1 and
// dilation 1: conv_unsupported refuses the others).
struct Geometry {
  int64_t n, c, h, w, k, r, s;
  Conv2dParams p;
};

void pass(CoreCall& k, const Geometry& g) {
  k.dim(g.n, "batch").dim(g.c, "channels").dim(g.h, "height").dim(g.w, "width").dim(g.k, "filters");
  k.dim(g.r, "kernel").dim(g.s, "kernel").arg(g.p.stride_h).arg(g.p.stride_w).arg(g.p.pad_h).arg(g.p.pad_w);
}

Geometry geometry(const OpCall& c, const Shape& x, const Shape& w) {
  return {x[0], x[1], x[2], x[3], w[0], w[2], w[3], c.param<Conv2dParams>()};
}

// The cores convolve all channels with undilated taps: grouped and dilated convolutions are
// refused before anything runs (fpga-sim and fpga-xrt alike).
const char* conv_unsupported(const OpCall& c) {
  const auto& p = c.param<Conv2dParams>();
  if (p.groups != 1) return "the FPGA convolution cores take groups = 1 only";
  if (p.dilation_h != 1 || p.dilation_w != 1) return "the FPGA convolution cores take dilation 1 only";
  return f32_cores(c);
}

void bind_conv2d_forward(const OpCall& c, CoreCall& k) {
  const Geometry g = geometry(c, c.in[0]->shape(), c.in[1]->shape());
  k.in(*c.in[0]).in(*c.in[1]).out(*c.out[0]);
  pass(k, g);
  k.model([=](const CardProfile& card) {
    return fpga::conv2d(card, g.n, g.c, g.h, g.w, g.k, g.r, g.s, g.p.stride_h, g.p.stride_w, g.p.pad_h, g.p.pad_w)
        .seconds;
  });
}
TANDEM_CORE_KERNEL_UNLESS(conv2d_forward, tandem_conv2d_forward, bind_conv2d_forward, conv_unsupported);

// dy, w → dx.
void bind_conv2d_backward_data(const OpCall& c, CoreCall& k) {
  const Geometry g = geometry(c, c.out[0]->shape(), c.in[1]->shape());
  k.in(*c.in[0]).in(*c.in[1]).out(*c.out[0]);
  pass(k, g);
  k.model([=](const CardProfile& card) {
    return fpga::conv2d_backward_data(card, g.n, g.c, g.h, g.w, g.k, g.r, g.s, g.p.stride_h, g.p.stride_w, g.p.pad_h,
                                      g.p.pad_w)
        .seconds;
  });
}
TANDEM_CORE_KERNEL_UNLESS(conv2d_backward_data, tandem_conv2d_backward_data, bind_conv2d_backward_data,
                          conv_unsupported);

// x, dy → dw.
void bind_conv2d_backward_weights(const OpCall& c, CoreCall& k) {
  const Geometry g = geometry(c, c.in[0]->shape(), c.out[0]->shape());
  k.in(*c.in[0]).in(*c.in[1]).out(*c.out[0]);
  pass(k, g);
  k.model([=](const CardProfile& card) {
    return fpga::conv2d_backward_weights(card, g.n, g.c, g.h, g.w, g.k, g.r, g.s, g.p.stride_h, g.p.stride_w,
                                         g.p.pad_h, g.p.pad_w)
        .seconds;
  });
}
TANDEM_CORE_KERNEL_UNLESS(conv2d_backward_weights, tandem_conv2d_backward_weights, bind_conv2d_backward_weights,
                          conv_unsupported);

}  // namespace
}  // namespace tandem::fpga
