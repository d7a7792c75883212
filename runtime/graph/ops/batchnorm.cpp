// Batch normalization: training (batch statistics; running averages updated in place in the
// state values it reads) with its gradient, and inference (running statistics).
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

BatchNormParams bn_params(const Attrs& a) { return {a.f("eps", 1e-5f), a.f("momentum", 0.1f)}; }

// x [N,C,...] and four per-channel vectors: gamma, beta, running mean, running variance.
void check(InferCtx& c) {
  c.expect_dtype(0, DType::f32);
  if (c.shape(0).rank() < 2) c.fail("x needs a channel dimension (dimension 1)");
  for (size_t i = 1; i < c.in.size(); ++i)
    if (!(c.shape(i) == Shape{c.shape(0)[1]})) c.fail(std::string(c.node.op->inputs[i]) + " must hold one value per channel");
}

void infer_train(InferCtx& c) {
  check(c);
  const Shape ch{c.shape(0)[1]};
  if (c.shape(0).numel() / c.shape(0)[1] < 2) c.fail("batch statistics need at least two values per channel");
  c.out = {{c.shape(0), DType::f32}, {ch, DType::f32}, {ch, DType::f32}};
}
void run_train(RunCtx& r) {
  ops::batchnorm_forward_train(r.stream, r.in[0], r.in[1], r.in[2], r.out[0], r.out[1], r.out[2], r.in[3], r.in[4],
                               bn_params(r.node.attrs));
}
void grad_train(GradCtx& c) {
  const auto d = c.g.add(opdef::batchnorm_backward, {c.x(0), c.dy(0), c.x(1), c.y(1), c.y(2)}, {}, c.name("x"));
  c.set(0, d[0]), c.set(1, d[1]), c.set(2, d[2]);
}

void infer_backward(InferCtx& c) {
  if (!(c.shape(0) == c.shape(1))) c.fail("x and dy differ in shape");
  const Shape ch{c.shape(0)[1]};
  c.out = {{c.shape(0), DType::f32}, {ch, DType::f32}, {ch, DType::f32}};
}
void run_backward(RunCtx& r) {
  ops::batchnorm_backward(r.stream, r.in[0], r.in[1], r.in[2], r.in[3], r.in[4], r.out[0], r.out[1], r.out[2]);
}

void infer_infer(InferCtx& c) {
  check(c);
  c.out = {{c.shape(0), DType::f32}};
}
void run_infer(RunCtx& r) {
  ops::batchnorm_forward_infer(r.stream, r.in[0], r.in[1], r.in[2], r.in[3], r.in[4], r.out[0], bn_params(r.node.attrs));
}

Attrs attrs(const BatchNormParams& p) { return {{"eps", p.eps}, {"momentum", p.momentum}}; }

}  // namespace

const GraphOp opdef::batchnorm_train{"batchnorm_train",
                                     {"x", "gamma", "beta", "running_mean", "running_var"},
                                     {"y", "save_mean", "save_invstd"},
                                     infer_train,
                                     run_train,
                                     grad_train,
                                     {&tandem::opdesc::batchnorm_forward_train}};
const GraphOp opdef::batchnorm_backward{"batchnorm_backward",
                                        {"x", "dy", "gamma", "save_mean", "save_invstd"},
                                        {"dx", "dgamma", "dbeta"},
                                        infer_backward,
                                        run_backward,
                                        nullptr,
                                        {&tandem::opdesc::batchnorm_backward},
                                        {{0, 1}}};
const GraphOp opdef::batchnorm_infer{"batchnorm_infer", {"x", "gamma", "beta", "running_mean", "running_var"}, {"y"},
                                     infer_infer, run_infer, nullptr, {&tandem::opdesc::batchnorm_forward_infer},
                                     {{0, 0}}};

ValueId batchnorm_train(Graph& g, ValueId x, ValueId gamma, ValueId beta, ValueId running_mean, ValueId running_var,
                        const BatchNormParams& p, const std::string& name) {
  return g.add(opdef::batchnorm_train, {x, gamma, beta, running_mean, running_var}, attrs(p), name)[0];
}
ValueId batchnorm_infer(Graph& g, ValueId x, ValueId gamma, ValueId beta, ValueId running_mean, ValueId running_var,
                        const BatchNormParams& p, const std::string& name) {
  return g.add1(opdef::batchnorm_infer, {x, gamma, beta, running_mean, running_var}, attrs(p), name);
}

}  // namespace tandem::graph
