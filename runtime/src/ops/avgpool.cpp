// Average pooling: kernel×kernel windows (no padding, floor mode) and global (each plane to its
// mean), forward and backward.
#include <string>

#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

// x f32 [N,C,H,W] with non-empty planes, y f32 [N,C], whichever is the input.
void validate_global(const OpCall& c, const Tensor& x, const Tensor& y) {
  opcheck::rank(c, x, 4);
  opcheck::rank(c, y, 2);
  opcheck::dtype(c, x, DType::f32);
  opcheck::dtype(c, y, DType::f32);
  if (x.shape()[2] < 1 || x.shape()[3] < 1) c.fail(opcheck::describe(c, x) + ": planes must not be empty");
  opcheck::dim(c, y, 0, x.shape()[0], "batch");
  opcheck::dim(c, y, 1, x.shape()[1], "channels");
}

// x [N,C,H,W] and y [N,C,P,Q], both f32, whichever is the input, for the window of p.
void validate_window(const OpCall& c, const Tensor& x, const Tensor& y) {
  const auto& p = c.param<Pool2dParams>();
  if (p.kernel < 1 || p.stride < 1)
    c.fail("kernel and stride must be ≥ 1 (kernel " + std::to_string(p.kernel) + ", stride " +
           std::to_string(p.stride) + ")");
  for (const Tensor* t : {&x, &y}) {
    opcheck::rank(c, *t, 4);
    opcheck::dtype(c, *t, DType::f32);
  }
  if (x.shape()[2] < p.kernel || x.shape()[3] < p.kernel)
    c.fail(opcheck::describe(c, x) + ": smaller than the " + std::to_string(p.kernel) + "x" + std::to_string(p.kernel) +
           " window");
  opcheck::dim(c, y, 0, x.shape()[0], "batch");
  opcheck::dim(c, y, 1, x.shape()[1], "channels");
  opcheck::dim(c, y, 2, window_out(x.shape()[2], p.kernel, p.stride, 0), "output height");
  opcheck::dim(c, y, 3, window_out(x.shape()[3], p.kernel, p.stride, 0), "output width");
}

void validate_window_fwd(const OpCall& c) { validate_window(c, *c.in[0], *c.out[0]); }
void validate_window_bwd(const OpCall& c) { validate_window(c, *c.out[0], *c.in[0]); }

// kernel² adds per output (forward), as many per output gradient (backward).
OpCost cost_window(const OpCall& c) {
  const auto& p = c.param<Pool2dParams>();
  const Tensor& small = c.in[0]->numel() <= c.out[0]->numel() ? *c.in[0] : *c.out[0];
  return {static_cast<double>(small.numel()) * p.kernel * p.kernel, opcheck::bytes_of(c)};
}

void validate_global_fwd(const OpCall& c) { validate_global(c, *c.in[0], *c.out[0]); }
void validate_global_bwd(const OpCall& c) { validate_global(c, *c.out[0], *c.in[0]); }

// One add (forward) or one division (backward) per element of the plane-sized tensor.
OpCost cost_global(const OpCall& c) {
  const Tensor& big = c.in[0]->numel() >= c.out[0]->numel() ? *c.in[0] : *c.out[0];
  return {static_cast<double>(big.numel()), opcheck::bytes_of(c)};
}

}  // namespace

const OpDesc opdesc::avgpool2d_forward("avgpool2d_forward", {"x"}, {writes("y")}, validate_window_fwd, cost_window);
const OpDesc opdesc::avgpool2d_backward("avgpool2d_backward", {"dy"}, {writes("dx")}, validate_window_bwd, cost_window);
const OpDesc opdesc::global_avgpool_forward("global_avgpool_forward", {"x"}, {writes("y")}, validate_global_fwd,
                                            cost_global);
const OpDesc opdesc::global_avgpool_backward("global_avgpool_backward", {"dy"}, {writes("dx")}, validate_global_bwd,
                                             cost_global);

void ops::avgpool2d_forward(Stream& s, const Tensor& x, const Tensor& y, const Pool2dParams& p) {
  dispatch(s, opdesc::avgpool2d_forward, {&x}, {&y}, &p);
}
void ops::avgpool2d_backward(Stream& s, const Tensor& dy, const Tensor& dx, const Pool2dParams& p) {
  dispatch(s, opdesc::avgpool2d_backward, {&dy}, {&dx}, &p);
}
void ops::global_avgpool_forward(Stream& s, const Tensor& x, const Tensor& y) {
  dispatch(s, opdesc::global_avgpool_forward, {&x}, {&y});
}
void ops::global_avgpool_backward(Stream& s, const Tensor& dy, const Tensor& dx) {
  dispatch(s, opdesc::global_avgpool_backward, {&dy}, {&dx});
}

}  // namespace tandem
