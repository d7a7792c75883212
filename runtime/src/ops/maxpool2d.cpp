// maxpool2d forward (with argmax indices) and backward, and bias + ReLU + maxpool2d fused.
#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

// What forward and backward share: an input-sized f32 tensor x [N,C,H,W], an output-sized f32
// tensor y [N,C,P,Q] and i32 indices shaped like y.
void validate_tensors(const OpCall& c, const Tensor& x, const Tensor& y, const Tensor& idx) {
  opcheck::rank(c, x, 4);
  opcheck::rank(c, y, 4);
  opcheck::dtype(c, x, DType::f32);
  opcheck::dtype(c, y, DType::f32);
  opcheck::dtype(c, idx, DType::i32);
  opcheck::same_shape(c, y, idx);
  opcheck::dim(c, y, 0, x.shape()[0], "batch");
  opcheck::dim(c, y, 1, x.shape()[1], "channels");
}

void validate_fwd(const OpCall& c) {
  const Tensor &x = *c.in[0], &y = *c.out[0];
  const auto& p = c.param<Pool2dParams>();
  if (p.kernel < 1 || p.stride < 1)
    c.fail("kernel and stride must be ≥ 1 (kernel " + std::to_string(p.kernel) + ", stride " +
           std::to_string(p.stride) + ")");
  validate_tensors(c, x, y, *c.out[1]);
  if (x.shape()[2] < p.kernel || x.shape()[3] < p.kernel)
    c.fail(opcheck::describe(c, x) + ": smaller than the " + std::to_string(p.kernel) + "x" + std::to_string(p.kernel) +
           " window");
  opcheck::dim(c, y, 2, window_out(x.shape()[2], p.kernel, p.stride, 0), "output height");
  opcheck::dim(c, y, 3, window_out(x.shape()[3], p.kernel, p.stride, 0), "output width");
}

void validate_fused(const OpCall& c) {
  validate_fwd(c);
  const Tensor &x = *c.in[0], &bias = *c.in[1];
  opcheck::dtype(c, bias, DType::f32);
  opcheck::rank(c, bias, 1);
  opcheck::dim(c, bias, 0, x.shape()[1], "length");
}

// The window is not a parameter of the backward pass: indices carry it, and the kernel
// checks each index against the input plane.
void validate_bwd(const OpCall& c) { validate_tensors(c, *c.out[0], *c.in[0], *c.in[1]); }

OpCost cost_fwd(const OpCall& c) {
  const auto& p = c.param<Pool2dParams>();
  return {static_cast<double>(c.out[0]->numel()) * p.kernel * p.kernel, opcheck::bytes_of(c)};
}
OpCost cost_bwd(const OpCall& c) { return {static_cast<double>(c.in[0]->numel()), opcheck::bytes_of(c)}; }

}  // namespace

const OpDesc opdesc::maxpool2d_forward("maxpool2d_forward", {"x"}, {writes("y"), writes("indices")}, validate_fwd,
                                       cost_fwd);
// (The cost of the pool alone: the bias and ReLU ride on its reads.)
const OpDesc opdesc::bias_relu_maxpool2d("bias_relu_maxpool2d", {"x", "bias"}, {writes("y"), writes("indices")},
                                         validate_fused, cost_fwd);
const OpDesc opdesc::maxpool2d_backward("maxpool2d_backward", {"dy", "indices"}, {writes("dx")}, validate_bwd,
                                        cost_bwd);

void ops::maxpool2d_forward(Stream& s, const Tensor& x, const Tensor& y, const Tensor& indices, const Pool2dParams& p) {
  dispatch(s, opdesc::maxpool2d_forward, {&x}, {&y, &indices}, &p);
}
void ops::bias_relu_maxpool2d(Stream& s, const Tensor& x, const Tensor& bias, const Tensor& y, const Tensor& indices,
                              const Pool2dParams& p) {
  dispatch(s, opdesc::bias_relu_maxpool2d, {&x, &bias}, {&y, &indices}, &p);
}
void ops::maxpool2d_backward(Stream& s, const Tensor& dy, const Tensor& indices, const Tensor& dx) {
  dispatch(s, opdesc::maxpool2d_backward, {&dy, &indices}, {&dx});
}

}  // namespace tandem
