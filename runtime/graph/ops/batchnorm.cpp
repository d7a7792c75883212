// Batch normalization: training (batch statistics; running averages updated in place in the
// state values it reads) with its gradient, inference (running statistics), and the pass that
// folds inference normalization into the convolution before it.
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

// "relu" = 1: the fusion pass folded the following ReLU in (fuse_relu).
BatchNormParams bn_params(const Attrs& a) { return {a.f("eps", 1e-5f), a.f("momentum", 0.1f), a.i("relu") != 0}; }

// x [N,C,...] and four per-channel vectors: gamma, beta, running mean, running variance.
void check(InferCtx& c) {
  c.expect_dtype(0, DType::f32);
  if (c.shape(0).rank() < 2) c.fail("x needs a channel dimension (dimension 1)");
  for (size_t i = 1; i < c.in.size(); ++i)
    if (!(c.shape(i) == Shape{c.shape(0)[1]}))
      c.fail(std::string(c.node.op->inputs[i]) + " must hold one value per channel");
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
// With a fused ReLU, its rule first (dz = dy where y > 0), from the output as an unfused ReLU's.
void grad_train(GradCtx& c) {
  const ValueId dz =
      c.node().attrs.i("relu") != 0 ? c.g.add1(opdef::relu_backward, {c.y(0), c.dy(0)}, {}, c.name("relu")) : c.dy(0);
  const auto d = c.g.add(opdef::batchnorm_backward, {c.x(0), dz, c.x(1), c.y(1), c.y(2)}, {}, c.name("x"));
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
  ops::batchnorm_forward_infer(r.stream, r.in[0], r.in[1], r.in[2], r.in[3], r.in[4], r.out[0],
                               bn_params(r.node.attrs));
}

// (w, gamma, beta, mean, var, bias) -> (w_out, bias_out): bias_out starts as the bias input.
void infer_fold(InferCtx& c) {
  c.expect_dtype(0, DType::f32);
  if (c.shape(0).rank() < 2) c.fail("w needs an output-channel dimension (dimension 0)");
  for (size_t i = 1; i < c.in.size(); ++i)
    if (!(c.shape(i) == Shape{c.shape(0)[0]}))
      c.fail(std::string(c.node.op->inputs[i]) + " must hold one value per output channel");
  c.out = {{c.shape(0), DType::f32}, {Shape{c.shape(0)[0]}, DType::f32}};
}
void run_fold(RunCtx& r) {
  if (!r.out[1].same_view(r.in[5])) copy(r.stream, r.in[5], r.out[1]);
  ops::batchnorm_fold(r.stream, r.in[0], r.in[1], r.in[2], r.in[3], r.in[4], r.out[0], r.out[1],
                      bn_params(r.node.attrs));
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
const GraphOp opdef::batchnorm_infer{"batchnorm_infer",
                                     {"x", "gamma", "beta", "running_mean", "running_var"},
                                     {"y"},
                                     infer_infer,
                                     run_infer,
                                     nullptr,
                                     {&tandem::opdesc::batchnorm_forward_infer},
                                     {{0, 0}}};

const GraphOp opdef::batchnorm_fold{"batchnorm_fold",
                                    {"w", "gamma", "beta", "running_mean", "running_var", "bias"},
                                    {"w_folded", "bias_folded"},
                                    infer_fold,
                                    run_fold,
                                    nullptr,
                                    {&tandem::opdesc::batchnorm_fold},
                                    {{1, 5}}};

ValueId batchnorm_train(Graph& g, ValueId x, ValueId gamma, ValueId beta, ValueId running_mean, ValueId running_var,
                        const BatchNormParams& p, const std::string& name) {
  return g.add(opdef::batchnorm_train, {x, gamma, beta, running_mean, running_var}, attrs(p), name)[0];
}
ValueId batchnorm_infer(Graph& g, ValueId x, ValueId gamma, ValueId beta, ValueId running_mean, ValueId running_var,
                        const BatchNormParams& p, const std::string& name) {
  return g.add1(opdef::batchnorm_infer, {x, gamma, beta, running_mean, running_var}, attrs(p), name);
}

size_t fold_batchnorm(Graph& g) {
  const auto readers = g.consumers();
  size_t folded = 0;
  const size_t count = g.nodes();
  for (size_t i = 0; i < count; ++i) {
    if (g.node(i).op != &opdef::batchnorm_infer) continue;
    // conv [-> bias_add] -> batchnorm, each value read by the next node alone, on one device.
    Node* conv = g.fusable_producer(readers, g.node(i).inputs[0]);
    Node* bias = nullptr;
    if (conv != nullptr && conv->op == &opdef::bias_add)
      bias = conv, conv = g.fusable_producer(readers, bias->inputs[0]);
    if (conv == nullptr || conv->op != &opdef::conv2d) continue;
    const Device dev = g.node(i).device;
    const bool relu = g.node(i).attrs.i("relu") != 0;
    if (!(conv->device == dev) || (bias != nullptr && !(bias->device == dev)) ||
        !dev.supports(tandem::opdesc::batchnorm_fold) || !dev.supports(tandem::opdesc::bias_add) ||
        (bias == nullptr && !dev.supports(tandem::opdesc::fill)) || (relu && !dev.supports(tandem::opdesc::bias_relu)))
      continue;
    const std::vector<ValueId> bn_in = g.node(i).inputs;  // x, gamma, beta, running mean, running var
    const ValueId conv_out = conv->outputs[0], w = conv->inputs[1];
    const ValueId conv_bias = bias != nullptr ? bias->inputs[1] : no_value;
    const std::string name = g.node(i).name;
    // The folded weights, computed on every run (so an evaluation during training folds the
    // current weights) and placed before the convolution by the sort below.
    // (Adding nodes moves them: conv and bias are not used past here.)
    g.set_device(dev), g.set_group(conv->group), g.set_backward(false);
    const ValueId b0 = conv_bias != no_value ? conv_bias : zeros(g, Shape{g.value(w).shape[0]}, name + ".fold.zero");
    const Attrs bn_attrs = g.node(i).attrs;
    const auto f =
        g.add(opdef::batchnorm_fold, {w, bn_in[1], bn_in[2], bn_in[3], bn_in[4], b0}, bn_attrs, name + ".fold");
    g.node(static_cast<size_t>(g.value(conv_out).producer)).inputs[1] = f[0];
    // The normalization becomes the convolution's bias (with the ReLU fused into it, if it was).
    Node& n = g.node(i);
    n.op = relu ? &opdef::bias_relu : &opdef::bias_add;
    n.inputs = {conv_out, f[1]};
    n.attrs = {};
    ++folded;
  }
  if (folded > 0) {
    g.sort_topologically();
    g.remove_dead_nodes();  // the convolution's own bias node, now unread
  }
  return folded;
}

}  // namespace tandem::graph
