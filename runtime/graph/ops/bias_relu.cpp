// bias_add (y = x + bias over dimension 1) and ReLU, with their gradient ops.
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

void infer_bias_add(InferCtx& c) {
  c.expect_dtype(0, DType::f32), c.expect_dtype(1, DType::f32), c.expect_rank(1, 1);
  if (c.shape(0).rank() < 2 || c.shape(0)[1] != c.shape(1)[0]) c.fail("bias must have one value per channel (dimension 1)");
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

const GraphOp opdef::bias_add{"bias_add",     {"x", "bias"}, {"y"}, infer_bias_add, run_bias_add, grad_bias_add,
                              {&tandem::opdesc::bias_add}, {{0, 0}}};
const GraphOp opdef::bias_backward{"bias_backward", {"dy"}, {"dbias"}, infer_bias_backward, run_bias_backward, nullptr,
                                   {&tandem::opdesc::bias_backward}};
const GraphOp opdef::relu{"relu", {"x"}, {"y"}, infer_same, run_relu, grad_relu, {&tandem::opdesc::relu_forward}, {{0, 0}}};
const GraphOp opdef::relu_backward{"relu_backward", {"y", "dy"}, {"dx"}, infer_relu_backward, run_relu_backward, nullptr,
                                   {&tandem::opdesc::relu_backward}, {{0, 1}}};

ValueId bias_add(Graph& g, ValueId x, ValueId bias, const std::string& name) {
  return g.add1(opdef::bias_add, {x, bias}, {}, name);
}
ValueId relu(Graph& g, ValueId x, const std::string& name) { return g.add1(opdef::relu, {x}, {}, name); }

}  // namespace tandem::graph
