// conv2d forward, backward-data and backward-weights: x [N,C,H,W], w [K,C/groups,R,S], y [N,K,P,Q],
// with stride, padding, dilation and groups (Conv2dParams).
#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

// Checks the three tensors of a convolution against each other, whichever are inputs.
void validate_conv(const OpCall& c, const Tensor& x, const Tensor& w, const Tensor& y) {
  const auto& p = c.param<Conv2dParams>();
  if (p.stride_h < 1 || p.stride_w < 1 || p.pad_h < 0 || p.pad_w < 0)
    c.fail("stride must be ≥ 1 and padding ≥ 0 (stride " + std::to_string(p.stride_h) + "x" +
           std::to_string(p.stride_w) + ", pad " + std::to_string(p.pad_h) + "x" + std::to_string(p.pad_w) + ")");
  if (p.dilation_h < 1 || p.dilation_w < 1)
    c.fail("dilation must be ≥ 1 (dilation " + std::to_string(p.dilation_h) + "x" + std::to_string(p.dilation_w) + ")");
  if (p.groups < 1) c.fail("groups must be ≥ 1 (groups " + std::to_string(p.groups) + ")");
  for (const Tensor* t : {&x, &w, &y}) {
    opcheck::rank(c, *t, 4);
    opcheck::dtype(c, *t, DType::f32);
  }
  const int64_t channels = x.shape()[1], filters = w.shape()[0], g = p.groups;
  if (channels % g != 0)
    c.fail(opcheck::describe(c, x) + ": " + std::to_string(channels) + " input channels do not split into " +
           std::to_string(g) + " groups");
  if (filters % g != 0)
    c.fail(opcheck::describe(c, w) + ": " + std::to_string(filters) + " filters do not split into " +
           std::to_string(g) + " groups");
  opcheck::dim(c, w, 1, channels / g, g == 1 ? "input channels" : "input channels per group");
  // The kernel's extent, its taps spread by the dilation.
  const int64_t kh = p.dilation_h * (w.shape()[2] - 1) + 1, kw = p.dilation_w * (w.shape()[3] - 1) + 1;
  const int64_t h = x.shape()[2] + 2 * p.pad_h, wd = x.shape()[3] + 2 * p.pad_w;
  if (kh > h || kw > wd)
    c.fail(opcheck::describe(c, w) + ": kernel larger than the padded input " + opcheck::describe(c, x) +
           (p.dilation_h == 1 && p.dilation_w == 1
                ? std::string()
                : " (dilated to " + std::to_string(kh) + "x" + std::to_string(kw) + ")"));
  opcheck::dim(c, y, 0, x.shape()[0], "batch");
  opcheck::dim(c, y, 1, filters, "output channels");
  opcheck::dim(c, y, 2, window_out(x.shape()[2], w.shape()[2], p.stride_h, p.pad_h, p.dilation_h), "output height");
  opcheck::dim(c, y, 3, window_out(x.shape()[3], w.shape()[3], p.stride_w, p.pad_w, p.dilation_w), "output width");
}

// Each output element sums over its group's C/groups channels (w's dimension 1) and R·S taps.
OpCost conv_cost(const OpCall& c, const Tensor& w, const Tensor& y) {
  const double macs = static_cast<double>(y.numel()) * static_cast<double>(w.shape()[1] * w.shape()[2] * w.shape()[3]);
  return {2.0 * macs, opcheck::bytes_of(c)};
}

void validate_fwd(const OpCall& c) { validate_conv(c, *c.in[0], *c.in[1], *c.out[0]); }
OpCost cost_fwd(const OpCall& c) { return conv_cost(c, *c.in[1], *c.out[0]); }
void validate_bwd_data(const OpCall& c) { validate_conv(c, *c.out[0], *c.in[1], *c.in[0]); }
OpCost cost_bwd_data(const OpCall& c) { return conv_cost(c, *c.in[1], *c.in[0]); }
void validate_bwd_weights(const OpCall& c) { validate_conv(c, *c.in[0], *c.out[0], *c.in[1]); }
OpCost cost_bwd_weights(const OpCall& c) { return conv_cost(c, *c.out[0], *c.in[1]); }

}  // namespace

const OpDesc opdesc::conv2d_forward("conv2d_forward", {"x", "w"}, {writes("y")}, validate_fwd, cost_fwd);
const OpDesc opdesc::conv2d_backward_data("conv2d_backward_data", {"dy", "w"}, {writes("dx")}, validate_bwd_data,
                                          cost_bwd_data);
const OpDesc opdesc::conv2d_backward_weights("conv2d_backward_weights", {"x", "dy"}, {writes("dw")}, validate_bwd_weights,
                                             cost_bwd_weights);

void ops::conv2d_forward(Stream& s, const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dParams& p) {
  dispatch(s, opdesc::conv2d_forward, {&x, &w}, {&y}, &p);
}
void ops::conv2d_backward_data(Stream& s, const Tensor& dy, const Tensor& w, const Tensor& dx, const Conv2dParams& p) {
  dispatch(s, opdesc::conv2d_backward_data, {&dy, &w}, {&dx}, &p);
}
void ops::conv2d_backward_weights(Stream& s, const Tensor& x, const Tensor& dy, const Tensor& dw,
                                  const Conv2dParams& p) {
  dispatch(s, opdesc::conv2d_backward_weights, {&x, &dy}, {&dw}, &p);
}

}  // namespace tandem
