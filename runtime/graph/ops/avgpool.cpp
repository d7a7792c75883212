// Average pooling: over windows, and over whole planes (global, [N,C,H,W] -> [N,C]).
#include "pool.h"
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

void infer_window(InferCtx& c) { c.out = {{pool_window_out(c), DType::f32}}; }
void run_window(RunCtx& r) { ops::avgpool2d_forward(r.stream, r.in[0], r.out[0], pool_params(r.node.attrs)); }
// The input's shape travels as attributes (a window's stride leaves it ambiguous).
void grad_window(GradCtx& c) {
  Attrs a = c.node().attrs;
  a.set_shape(c.g.value(c.x(0)).shape);
  c.set(0, c.g.add1(opdef::avgpool2d_backward, {c.dy(0)}, a, c.name("x")));
}
void infer_window_backward(InferCtx& c) { c.out = {{c.node.attrs.shape(), DType::f32}}; }
void run_window_backward(RunCtx& r) { ops::avgpool2d_backward(r.stream, r.in[0], r.out[0], pool_params(r.node.attrs)); }

void infer_global(InferCtx& c) {
  c.expect_rank(0, 4), c.expect_dtype(0, DType::f32);
  c.out = {{Shape{c.shape(0)[0], c.shape(0)[1]}, DType::f32}};
}
void run_global(RunCtx& r) { ops::global_avgpool_forward(r.stream, r.in[0], r.out[0]); }
void grad_global(GradCtx& c) {
  Attrs a;
  a.set_shape(c.g.value(c.x(0)).shape);
  c.set(0, c.g.add1(opdef::global_avgpool_backward, {c.dy(0)}, a, c.name("x")));
}
void infer_global_backward(InferCtx& c) {
  const Shape x = c.node.attrs.shape();
  if (!(c.shape(0) == Shape{x[0], x[1]})) c.fail("dy must be [N, C] of the input " + x.str());
  c.out = {{x, DType::f32}};
}
void run_global_backward(RunCtx& r) { ops::global_avgpool_backward(r.stream, r.in[0], r.out[0]); }

}  // namespace

const GraphOp opdef::avgpool2d{"avgpool2d", {"x"}, {"y"}, infer_window, run_window, grad_window,
                               {&tandem::opdesc::avgpool2d_forward}};
const GraphOp opdef::avgpool2d_backward{"avgpool2d_backward", {"dy"}, {"dx"}, infer_window_backward,
                                        run_window_backward, nullptr, {&tandem::opdesc::avgpool2d_backward}};
const GraphOp opdef::global_avgpool{"global_avgpool", {"x"}, {"y"}, infer_global, run_global, grad_global,
                                    {&tandem::opdesc::global_avgpool_forward}};
const GraphOp opdef::global_avgpool_backward{"global_avgpool_backward", {"dy"}, {"dx"}, infer_global_backward,
                                             run_global_backward, nullptr, {&tandem::opdesc::global_avgpool_backward}};

ValueId avgpool2d(Graph& g, ValueId x, const Pool2dParams& p, const std::string& name) {
  return g.add1(opdef::avgpool2d, {x}, {{"kernel", p.kernel}, {"stride", p.stride}}, name);
}
ValueId global_avgpool(Graph& g, ValueId x, const std::string& name) {
  return g.add1(opdef::global_avgpool, {x}, {}, name);
}

}  // namespace tandem::graph
