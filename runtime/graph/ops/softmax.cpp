// softmax along an axis, optionally masked (attention's key padding), with its gradient from the output.
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

SoftmaxParams params(const Attrs& a) { return {static_cast<int>(a.i("axis", -1)), a.f("scale", 1.0f)}; }

void infer(InferCtx& c) {
  c.expect_dtype(0, DType::f32);
  if (normalize_axis(static_cast<int>(c.node.attrs.i("axis", -1)), c.shape(0).rank()) < 0)
    c.fail("x has no axis " + std::to_string(c.node.attrs.i("axis", -1)));
  c.out = {{c.shape(0), DType::f32}};
}
void infer_masked(InferCtx& c) {
  infer(c);
  c.expect_rank(1, 2), c.expect_dtype(1, DType::u8);
  const Shape &x = c.shape(0), &m = c.shape(1);
  const int64_t n = x[x.rank() - 1], rows = n == 0 ? 0 : x.numel() / n;
  if (normalize_axis(static_cast<int>(c.node.attrs.i("axis", -1)), x.rank()) != x.rank() - 1)
    c.fail("a masked softmax normalizes over the last axis");
  if (m[1] != n || m[0] == 0 || rows % m[0] != 0)
    c.fail("mask " + m.str() + " must have the last axis's " + std::to_string(n) + " columns and rows dividing " +
           std::to_string(rows));
}
void run(RunCtx& r) { ops::softmax_forward(r.stream, r.in[0], r.out[0], params(r.node.attrs)); }
void run_masked(RunCtx& r) { ops::masked_softmax_forward(r.stream, r.in[0], r.in[1], r.out[0], params(r.node.attrs)); }
void grad(GradCtx& c) { c.set(0, c.g.add1(opdef::softmax_backward, {c.y(0), c.dy(0)}, c.node().attrs, c.name("x"))); }

void infer_backward(InferCtx& c) {
  if (!(c.shape(0) == c.shape(1))) c.fail("y and dy differ in shape");
  c.out = {{c.shape(0), DType::f32}};
}
void run_backward(RunCtx& r) { ops::softmax_backward(r.stream, r.in[0], r.in[1], r.out[0], params(r.node.attrs)); }

}  // namespace

const GraphOp opdef::softmax{"softmax", {"x"}, {"y"}, infer, run, grad, {&tandem::opdesc::softmax_forward}, {{0, 0}}};
const GraphOp opdef::masked_softmax{
    "masked_softmax", {"x", "mask"}, {"y"}, infer_masked, run_masked, grad, {&tandem::opdesc::masked_softmax_forward},
    {{0, 0}}};
const GraphOp opdef::softmax_backward{"softmax_backward",
                                      {"y", "dy"},
                                      {"dx"},
                                      infer_backward,
                                      run_backward,
                                      nullptr,
                                      {&tandem::opdesc::softmax_backward},
                                      {{0, 1}}};

ValueId softmax(Graph& g, ValueId x, const SoftmaxParams& p, const std::string& name, ValueId mask) {
  const Attrs a{{"axis", p.axis}, {"scale", p.scale}};
  return mask == no_value ? g.add1(opdef::softmax, {x}, a, name) : g.add1(opdef::masked_softmax, {x, mask}, a, name);
}

}  // namespace tandem::graph
