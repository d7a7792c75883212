// bias_add (y = x + bias over dimension 1) and ReLU, with their gradient ops; add + ReLU; and
// the pass that fuses a ReLU into the node producing its input (bias, add, batch norm).
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

void infer_bias_add(InferCtx& c) {
  c.expect_dtype(0, DType::f32), c.expect_dtype(1, DType::f32), c.expect_rank(1, 1);
  if (c.shape(0).rank() < 2 || c.shape(0)[1] != c.shape(1)[0])
    c.fail("bias must have one value per channel (dimension 1)");
  c.out = {{c.shape(0), DType::f32}};
}
// The kernel adds in place: on a planned in-place node y is x's memory, otherwise x is copied first.
void run_bias_add(RunCtx& r) {
  if (!r.out[0].same_view(r.in[0])) copy(r.stream, r.in[0], r.out[0]);
  ops::bias_add(r.stream, r.out[0], r.in[1]);
}
void grad_bias_add(GradCtx& c) {
  c.set(0, c.dy(0));
  if (c.wants(1)) c.set(1, c.g.add1(opdef::bias_backward, {c.dy(0)}, {}, c.name("bias")));
}

// Fused bias + ReLU (what fuse_relu makes of the pair): in place like bias_add.
void run_bias_relu(RunCtx& r) {
  if (!r.out[0].same_view(r.in[0])) copy(r.stream, r.in[0], r.out[0]);
  ops::bias_relu(r.stream, r.out[0], r.in[1]);
}
// The pair's rules composed: dz = dy where y > 0; dbias = Σ dz; dx = dz.
void grad_bias_relu(GradCtx& c) {
  const ValueId dz = c.g.add1(opdef::relu_backward, {c.y(0), c.dy(0)}, {}, c.name("relu"));
  c.set(0, dz);
  if (c.wants(1)) c.set(1, c.g.add1(opdef::bias_backward, {dz}, {}, c.name("bias")));
}

// A residual merge and its ReLU (what fuse_relu makes of the pair): dz = dy where y > 0; da = db = dz.
void infer_add_relu(InferCtx& c) {
  c.expect_dtype(0, DType::f32), c.expect_dtype(1, DType::f32);
  if (!(c.shape(0) == c.shape(1))) c.fail("a and b differ in shape");
  c.out = {{c.shape(0), DType::f32}};
}
void run_add_relu(RunCtx& r) { ops::add_relu(r.stream, r.in[0], r.in[1], r.out[0]); }
void grad_add_relu(GradCtx& c) {
  const ValueId dz = c.g.add1(opdef::relu_backward, {c.y(0), c.dy(0)}, {}, c.name("relu"));
  c.set(0, dz), c.set(1, dz);
}

void infer_bias_backward(InferCtx& c) {
  if (c.shape(0).rank() < 2) c.fail("dy needs a channel dimension");
  c.out = {{Shape{c.shape(0)[1]}, DType::f32}};
}
void run_bias_backward(RunCtx& r) { ops::bias_backward(r.stream, r.in[0], r.out[0]); }

void infer_same(InferCtx& c) {
  c.expect_dtype(0, DType::f32);
  c.out = {{c.shape(0), DType::f32}};
}
void run_relu(RunCtx& r) { ops::relu_forward(r.stream, r.in[0], r.out[0]); }
// From the output (y > 0 exactly where x > 0), so x need not be kept and ReLU can run in place.
void grad_relu(GradCtx& c) { c.set(0, c.g.add1(opdef::relu_backward, {c.y(0), c.dy(0)}, {}, c.name("x"))); }

void infer_relu_backward(InferCtx& c) {
  if (!(c.shape(0) == c.shape(1))) c.fail("y and dy differ in shape");
  c.out = {{c.shape(0), DType::f32}};
}
void run_relu_backward(RunCtx& r) { ops::relu_backward(r.stream, r.in[0], r.in[1], r.out[0]); }

}  // namespace

const GraphOp opdef::bias_add{
    "bias_add", {"x", "bias"}, {"y"}, infer_bias_add, run_bias_add, grad_bias_add, {&tandem::opdesc::bias_add},
    {{0, 0}}};
const GraphOp opdef::bias_relu{
    "bias_relu", {"x", "bias"}, {"y"}, infer_bias_add, run_bias_relu, grad_bias_relu, {&tandem::opdesc::bias_relu},
    {{0, 0}}};
const GraphOp opdef::bias_backward{"bias_backward",
                                   {"dy"},
                                   {"dbias"},
                                   infer_bias_backward,
                                   run_bias_backward,
                                   nullptr,
                                   {&tandem::opdesc::bias_backward}};
const GraphOp opdef::relu{"relu",  {"x"}, {"y"}, infer_same, run_relu, grad_relu, {&tandem::opdesc::relu_forward},
                          {{0, 0}}};
const GraphOp opdef::add_relu{
    "add_relu",      {"a", "b"}, {"c"}, infer_add_relu, run_add_relu, grad_add_relu, {&tandem::opdesc::add_relu},
    {{0, 0}, {0, 1}}};
const GraphOp opdef::relu_backward{"relu_backward",
                                   {"y", "dy"},
                                   {"dx"},
                                   infer_relu_backward,
                                   run_relu_backward,
                                   nullptr,
                                   {&tandem::opdesc::relu_backward},
                                   {{0, 1}}};

ValueId bias_add(Graph& g, ValueId x, ValueId bias, const std::string& name) {
  return g.add1(opdef::bias_add, {x, bias}, {}, name);
}
ValueId relu(Graph& g, ValueId x, const std::string& name) { return g.add1(opdef::relu, {x}, {}, name); }

size_t fuse_relu(Graph& g) {
  const auto readers = g.consumers();
  size_t fused = 0;
  for (size_t i = 0; i < g.nodes(); ++i) {
    Node& r = g.node(i);
    if (r.op != &opdef::relu) continue;
    const ValueId mid = r.inputs[0];
    Node* producer = g.fusable_producer(readers, mid);
    if (producer == nullptr) continue;
    Node& p = *producer;
    if (!(p.device == r.device) || p.outputs[0] != mid) continue;
    if (p.op == &opdef::bias_add && p.device.supports(tandem::opdesc::bias_relu))
      p.op = &opdef::bias_relu;
    else if (p.op == &opdef::add && p.device.supports(tandem::opdesc::add_relu))
      p.op = &opdef::add_relu;
    else if ((p.op == &opdef::batchnorm_train || p.op == &opdef::batchnorm_infer) && p.attrs.i("relu") == 0)
      p.attrs.set("relu", 1);  // the same kernels, with BatchNormParams::relu
    else
      continue;
    // The producer now writes the ReLU's output; the ReLU, left writing the unread middle value, is dead.
    const ValueId out = r.outputs[0];
    p.outputs[0] = out;
    g.value(out).producer = g.value(mid).producer;
    r.outputs[0] = mid;
    g.value(mid).producer = static_cast<int>(i);
    ++fused;
  }
  if (fused > 0) g.remove_dead_nodes();
  return fused;
}

}  // namespace tandem::graph
