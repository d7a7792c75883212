// Element-wise values: add (residual merges, gradient sums), copy and zeros.
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

void infer_add(InferCtx& c) {
  c.expect_dtype(0, DType::f32), c.expect_dtype(1, DType::f32);
  if (!(c.shape(0) == c.shape(1))) c.fail("a and b differ in shape");
  c.out = {{c.shape(0), DType::f32}};
}
void run_add(RunCtx& r) { ops::add(r.stream, r.in[0], r.in[1], r.out[0]); }
void grad_add(GradCtx& c) { c.set(0, c.dy(0)), c.set(1, c.dy(0)); }

void infer_copy(InferCtx& c) { c.out = {{c.shape(0), c.in[0]->dtype}}; }
void run_copy(RunCtx& r) { copy(r.stream, r.in[0], r.out[0]); }
void grad_copy(GradCtx& c) { c.set(0, c.dy(0)); }

void infer_zeros(InferCtx& c) { c.out = {{c.node.attrs.shape(), DType::f32}}; }
void run_zeros(RunCtx& r) { ops::fill(r.stream, r.out[0], 0.0f); }

}  // namespace

const GraphOp opdef::add{"add", {"a", "b"}, {"c"}, infer_add, run_add, grad_add, {&tandem::opdesc::add}, {{0, 0}, {0, 1}}};
// A copy runs on every device (the stream-ordered copy), so it names no kernel.
const GraphOp opdef::copy{"copy", {"x"}, {"y"}, infer_copy, run_copy, grad_copy, {}};
const GraphOp opdef::zeros{"zeros", {}, {"y"}, infer_zeros, run_zeros, nullptr, {&tandem::opdesc::fill}};

ValueId copy(Graph& g, ValueId x, const std::string& name) { return g.add1(opdef::copy, {x}, {}, name); }
ValueId zeros(Graph& g, const Shape& shape, const std::string& name) {
  Attrs a;
  a.set_shape(shape);
  return g.add1(opdef::zeros, {}, a, name);
}

}  // namespace tandem::graph
