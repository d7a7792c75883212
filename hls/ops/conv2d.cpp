// The convolutions on the MAC engine: forward (im2col columns streamed into the GEMM engine),
// input gradient (the transposed convolution) and weight gradient.
#include "binding.h"
#include "cores.h"

namespace tandem::fpga {
namespace {

// The cores' geometry arguments: x [n,c,h,w], w [k,c,r,s], then stride and padding.
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

void bind_conv2d_forward(const OpCall& c, CoreCall& k) {
  const Geometry g = geometry(c, c.in[0]->shape(), c.in[1]->shape());
  k.in(*c.in[0]).in(*c.in[1]).out(*c.out[0]);
  pass(k, g);
  k.model([=](const CardProfile& card) {
    return fpga::conv2d(card, g.n, g.c, g.h, g.w, g.k, g.r, g.s, g.p.stride_h, g.p.stride_w, g.p.pad_h, g.p.pad_w)
        .seconds;
  });
}
TANDEM_CORE_KERNEL(conv2d_forward, tandem_conv2d_forward, bind_conv2d_forward);

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
TANDEM_CORE_KERNEL(conv2d_backward_data, tandem_conv2d_backward_data, bind_conv2d_backward_data);

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
TANDEM_CORE_KERNEL(conv2d_backward_weights, tandem_conv2d_backward_weights, bind_conv2d_backward_weights);

}  // namespace
}  // namespace tandem::fpga
