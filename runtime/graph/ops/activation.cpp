// The smooth activations (GELU, tanh, sigmoid) as graph nodes; the gradient reads the input.
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

ActivationParams params(const Attrs& a) { return {static_cast<Activation>(a.i("kind"))}; }

void infer(InferCtx& c) {
  c.expect_dtype(0, DType::f32);
  if (c.node.attrs.i("kind") < 0 || c.node.attrs.i("kind") > static_cast<int64_t>(Activation::sigmoid))
    c.fail("unknown activation " + std::to_string(c.node.attrs.i("kind")));
  c.out = {{c.shape(0), DType::f32}};
}
void run(RunCtx& r) { ops::activation_forward(r.stream, r.in[0], r.out[0], params(r.node.attrs)); }
void grad(GradCtx& c) {
  c.set(0, c.g.add1(opdef::activation_backward, {c.x(0), c.dy(0)}, c.node().attrs, c.name("x")));
}

void infer_backward(InferCtx& c) {
  if (!(c.shape(0) == c.shape(1))) c.fail("x and dy differ in shape");
  c.out = {{c.shape(0), DType::f32}};
}
void run_backward(RunCtx& r) { ops::activation_backward(r.stream, r.in[0], r.in[1], r.out[0], params(r.node.attrs)); }

}  // namespace

const GraphOp opdef::activation{"activation", {"x"}, {"y"}, infer, run, grad, {&tandem::opdesc::activation_forward},
                                {{0, 0}}};
const GraphOp opdef::activation_backward{"activation_backward",
                                         {"x", "dy"},
                                         {"dx"},
                                         infer_backward,
                                         run_backward,
                                         nullptr,
                                         {&tandem::opdesc::activation_backward},
                                         {{0, 1}}};

ValueId activation(Graph& g, ValueId x, Activation kind, const std::string& name) {
  return g.add1(opdef::activation, {x}, {{"kind", static_cast<double>(kind)}}, name);
}

}  // namespace tandem::graph
