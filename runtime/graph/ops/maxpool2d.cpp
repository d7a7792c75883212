// maxpool2d: y and the position of each maximum (i32), which its gradient routes dy through.
#include "pool.h"
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

void infer(InferCtx& c) {
  const Shape y = pool_window_out(c);
  c.out = {{y, DType::f32}, {y, DType::i32}};
}
void run(RunCtx& r) { ops::maxpool2d_forward(r.stream, r.in[0], r.out[0], r.out[1], pool_params(r.node.attrs)); }
void grad(GradCtx& c) {
  const Shape& x = c.g.value(c.x(0)).shape;
  Attrs a{{"n", x[0]}, {"c", x[1]}, {"h", x[2]}, {"w", x[3]}};
  c.set(0, c.g.add1(opdef::maxpool2d_backward, {c.dy(0), c.y(1)}, a, c.name("x")));
}

void infer_backward(InferCtx& c) {
  const Attrs& a = c.node.attrs;
  if (!(c.shape(0) == c.shape(1))) c.fail("dy and indices differ in shape");
  c.expect_dtype(1, DType::i32);
  c.out = {{Shape{a.i("n"), a.i("c"), a.i("h"), a.i("w")}, DType::f32}};
}
void run_backward(RunCtx& r) { ops::maxpool2d_backward(r.stream, r.in[0], r.in[1], r.out[0]); }

}  // namespace

const GraphOp opdef::maxpool2d{"maxpool2d", {"x"}, {"y", "indices"}, infer, run, grad, {&tandem::opdesc::maxpool2d_forward}};
const GraphOp opdef::maxpool2d_backward{"maxpool2d_backward", {"dy", "indices"}, {"dx"}, infer_backward, run_backward,
                                        nullptr, {&tandem::opdesc::maxpool2d_backward}};

std::vector<ValueId> maxpool2d(Graph& g, ValueId x, const Pool2dParams& p, const std::string& name) {
  return g.add(opdef::maxpool2d, {x}, {{"kernel", p.kernel}, {"stride", p.stride}}, name);
}

}  // namespace tandem::graph
