// conv2d and its two gradient ops: x [N,C,H,W], w [K,C,R,S], y [N,K,P,Q].
#include "tandem/graph/ops.h"

#include <algorithm>

namespace tandem::graph {
namespace {

Conv2dParams conv_params(const Attrs& a) {
  Conv2dParams p{static_cast<int>(a.i("stride_h", 1)), static_cast<int>(a.i("stride_w", 1)),
                 static_cast<int>(a.i("pad_h")), static_cast<int>(a.i("pad_w"))};
  p.dilation_h = static_cast<int>(a.i("dilation_h", 1)), p.dilation_w = static_cast<int>(a.i("dilation_w", 1));
  p.groups = static_cast<int>(a.i("groups", 1));
  return p;
}

Attrs conv_attrs(const Conv2dParams& p) {
  return {{"stride_h", p.stride_h},     {"stride_w", p.stride_w},     {"pad_h", p.pad_h}, {"pad_w", p.pad_w},
          {"dilation_h", p.dilation_h}, {"dilation_w", p.dilation_w}, {"groups", p.groups}};
}

void check_window(InferCtx& c, const Shape& x, const Shape& w, const Conv2dParams& p) {
  if (p.stride_h < 1 || p.stride_w < 1 || p.pad_h < 0 || p.pad_w < 0) c.fail("stride must be ≥ 1 and padding ≥ 0");
  if (p.dilation_h < 1 || p.dilation_w < 1 || p.groups < 1) c.fail("dilation and groups must be ≥ 1");
  if (x[1] % p.groups != 0 || w[0] % p.groups != 0)
    c.fail("input and output channels must divide into " + std::to_string(p.groups) + " groups");
  if (w[1] * p.groups != x[1])
    c.fail("weights expect " + std::to_string(w[1] * p.groups) + " input channels, x has " + std::to_string(x[1]));
  if (x[2] + 2 * p.pad_h < p.dilation_h * (w[2] - 1) + 1 || x[3] + 2 * p.pad_w < p.dilation_w * (w[3] - 1) + 1)
    c.fail("kernel larger than the padded input");
}

Shape conv_out(const Shape& x, const Shape& w, const Conv2dParams& p) {
  return {x[0], w[0], window_out(x[2], w[2], p.stride_h, p.pad_h, p.dilation_h),
          window_out(x[3], w[3], p.stride_w, p.pad_w, p.dilation_w)};
}

void infer_fwd(InferCtx& c) {
  c.expect_rank(0, 4), c.expect_rank(1, 4), c.expect_dtype(0, DType::f32), c.expect_dtype(1, DType::f32);
  const Conv2dParams p = conv_params(c.node.attrs);
  check_window(c, c.shape(0), c.shape(1), p);
  c.out = {{conv_out(c.shape(0), c.shape(1), p), DType::f32}};
}
void run_fwd(RunCtx& r) { ops::conv2d_forward(r.stream, r.in[0], r.in[1], r.out[0], conv_params(r.node.attrs)); }

// dx: inputs dy, w; the input's shape is an attribute (stride and padding make it ambiguous).
void infer_data(InferCtx& c) {
  const Attrs& a = c.node.attrs;
  const Conv2dParams p = conv_params(a);
  const Shape x{c.shape(0)[0], c.shape(1)[1] * p.groups, a.i("in_h"), a.i("in_w")};
  check_window(c, x, c.shape(1), p);
  if (!(conv_out(x, c.shape(1), p) == c.shape(0))) c.fail("dy does not match the convolution's output");
  c.out = {{x, DType::f32}};
}
void run_data(RunCtx& r) { ops::conv2d_backward_data(r.stream, r.in[0], r.in[1], r.out[0], conv_params(r.node.attrs)); }

// dw: inputs x, dy; the kernel size is an attribute.
void infer_weights(InferCtx& c) {
  const Attrs& a = c.node.attrs;
  const Conv2dParams p = conv_params(a);
  const Shape w{c.shape(1)[1], c.shape(0)[1] / std::max(p.groups, 1), a.i("kernel_h"), a.i("kernel_w")};
  check_window(c, c.shape(0), w, p);
  if (!(conv_out(c.shape(0), w, p) == c.shape(1))) c.fail("dy does not match the convolution's output");
  c.out = {{w, DType::f32}};
}
void run_weights(RunCtx& r) {
  ops::conv2d_backward_weights(r.stream, r.in[0], r.in[1], r.out[0], conv_params(r.node.attrs));
}

void grad(GradCtx& c) {
  const Shape x = c.g.value(c.x(0)).shape, w = c.g.value(c.x(1)).shape;  // copies: adding nodes moves values
  Attrs a = c.node().attrs;
  if (c.wants(0)) {
    a.set("in_h", static_cast<double>(x[2])), a.set("in_w", static_cast<double>(x[3]));
    c.set(0, c.g.add1(opdef::conv2d_backward_data, {c.dy(0), c.x(1)}, a, c.name("data")));
  }
  if (c.wants(1)) {
    a.set("kernel_h", static_cast<double>(w[2])), a.set("kernel_w", static_cast<double>(w[3]));
    c.set(1, c.g.add1(opdef::conv2d_backward_weights, {c.x(0), c.dy(0)}, a, c.name("weights")));
  }
}

}  // namespace

const GraphOp opdef::conv2d{"conv2d", {"x", "w"}, {"y"}, infer_fwd, run_fwd, grad, {&tandem::opdesc::conv2d_forward}};
const GraphOp opdef::conv2d_backward_data{"conv2d_backward_data", {"dy", "w"}, {"dx"}, infer_data, run_data, nullptr,
                                          {&tandem::opdesc::conv2d_backward_data}};
const GraphOp opdef::conv2d_backward_weights{"conv2d_backward_weights", {"x", "dy"}, {"dw"}, infer_weights,
                                             run_weights, nullptr, {&tandem::opdesc::conv2d_backward_weights}};

ValueId conv2d(Graph& g, ValueId x, ValueId w, const Conv2dParams& p, const std::string& name) {
  return g.add1(opdef::conv2d, {x, w}, conv_attrs(p), name);
}

}  // namespace tandem::graph
