// Layer normalization over the last dimension (transformers' normalization), with its gradient.
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

void infer(InferCtx& c) {
  c.expect_dtype(0, DType::f32);
  const Shape& x = c.shape(0);
  if (x.rank() < 1) c.fail("x needs a dimension to normalize");
  const int64_t d = x[x.rank() - 1], rows = d == 0 ? 0 : x.numel() / d;
  for (size_t i = 1; i < 3; ++i)
    if (!(c.shape(i) == Shape{d})) c.fail(std::string(c.node.op->inputs[i]) + " must hold one value per feature");
  c.out = {{x, DType::f32}, {Shape{rows}, DType::f32}, {Shape{rows}, DType::f32}};
}
void run(RunCtx& r) {
  ops::layernorm_forward(r.stream, r.in[0], r.in[1], r.in[2], r.out[0], r.out[1], r.out[2],
                         {r.node.attrs.f("eps", 1e-5f)});
}
void grad(GradCtx& c) {
  const auto d = c.g.add(opdef::layernorm_backward, {c.x(0), c.dy(0), c.x(1), c.y(1), c.y(2)}, {}, c.name("x"));
  c.set(0, d[0]), c.set(1, d[1]), c.set(2, d[2]);
}

void infer_backward(InferCtx& c) {
  if (!(c.shape(0) == c.shape(1))) c.fail("x and dy differ in shape");
  c.out = {{c.shape(0), DType::f32}, {c.shape(2), DType::f32}, {c.shape(2), DType::f32}};
}
void run_backward(RunCtx& r) {
  ops::layernorm_backward(r.stream, r.in[0], r.in[1], r.in[2], r.in[3], r.in[4], r.out[0], r.out[1], r.out[2]);
}

}  // namespace

const GraphOp opdef::layernorm{
    "layernorm", {"x", "gamma", "beta"}, {"y", "mean", "rstd"}, infer, run, grad, {&tandem::opdesc::layernorm_forward}};
const GraphOp opdef::layernorm_backward{"layernorm_backward",
                                        {"x", "dy", "gamma", "mean", "rstd"},
                                        {"dx", "dgamma", "dbeta"},
                                        infer_backward,
                                        run_backward,
                                        nullptr,
                                        {&tandem::opdesc::layernorm_backward},
                                        {{0, 1}}};

ValueId layernorm(Graph& g, ValueId x, ValueId gamma, ValueId beta, const LayerNormParams& p, const std::string& name) {
  return g.add(opdef::layernorm, {x, gamma, beta}, {{"eps", p.eps}}, name)[0];
}

}  // namespace tandem::graph
