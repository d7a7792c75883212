// The window rule the graph's 2-D pooling ops share (internal to runtime/graph/ops).
#pragma once

#include "tandem/graph/op.h"
#include "tandem/ops.h"

namespace tandem::graph {

inline Pool2dParams pool_params(const Attrs& a) {
  return {static_cast<int>(a.i("kernel", 2)), static_cast<int>(a.i("stride", a.i("kernel", 2)))};
}

/// The output shape of a kernel×kernel window with a stride over x [N,C,H,W] (floor mode, no
/// padding); fails naming the node when x is not 4-D f32 or the window does not fit.
inline Shape pool_window_out(const InferCtx& c) {
  c.expect_rank(0, 4), c.expect_dtype(0, DType::f32);
  const Pool2dParams p = pool_params(c.node.attrs);
  const Shape& x = c.shape(0);
  if (p.kernel < 1 || p.stride < 1) c.fail("kernel and stride must be ≥ 1");
  if (x[2] < p.kernel || x[3] < p.kernel) c.fail("window larger than the input");
  return {x[0], x[1], window_out(x[2], p.kernel, p.stride, 0), window_out(x[3], p.kernel, p.stride, 0)};
}

}  // namespace tandem::graph
