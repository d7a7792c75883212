// The classification loss: mean softmax cross-entropy, differentiable only as the loss itself.
#include "tandem/graph/ops.h"

#include "tandem/error.h"

namespace tandem::graph {
namespace {

void infer(InferCtx& c) {
  c.expect_rank(0, 2), c.expect_rank(1, 1), c.expect_dtype(0, DType::f32), c.expect_dtype(1, DType::i32);
  if (c.shape(1)[0] != c.shape(0)[0]) c.fail("one label per row of logits");
  c.out = {{Shape{1}, DType::f32}, {c.shape(0), DType::f32}};
}
// "ignore_index": labels of rows left out of the loss (absent: none).
int32_t ignore_of(const Attrs& a) { return static_cast<int32_t>(a.i("ignore_index", XentParams::no_ignore)); }

void run(RunCtx& r) {
  ops::softmax_xent_forward(r.stream, r.in[0], r.in[1], r.out[1], r.out[0], {ignore_of(r.node.attrs)});
}

// dlogits = dloss·(probs − onehot)/N, dloss the node's "dloss" attribute (the loss scale).
void grad(GradCtx& c) {
  if (c.dy(0) != seed_gradient)
    throw Error(ErrorKind::unsupported, "", "node " + c.node().name, "softmax_xent is differentiated only as the loss");
  Attrs a = c.node().attrs;
  a.set("dloss", 1.0);
  c.set(0, c.g.add1(opdef::softmax_xent_backward, {c.y(1), c.x(1)}, a, c.name("logits")));
}

void infer_backward(InferCtx& c) {
  c.expect_rank(0, 2), c.expect_dtype(1, DType::i32);
  c.out = {{c.shape(0), DType::f32}};
}
void run_backward(RunCtx& r) {
  ops::softmax_xent_backward(r.stream, r.in[0], r.in[1], r.out[0], {ignore_of(r.node.attrs), r.node.attrs.f("dloss", 1.0f)});
}

}  // namespace

const GraphOp opdef::softmax_xent{"softmax_xent", {"logits", "labels"}, {"loss", "probs"}, infer, run, grad,
                                  {&tandem::opdesc::softmax_xent_forward}};
const GraphOp opdef::softmax_xent_backward{"softmax_xent_backward", {"probs", "labels"}, {"dlogits"}, infer_backward,
                                           run_backward, nullptr, {&tandem::opdesc::softmax_xent_backward}};

std::vector<ValueId> softmax_xent(Graph& g, ValueId logits, ValueId labels, const std::string& name,
                                  int32_t ignore_index) {
  Attrs a;
  if (ignore_index != XentParams::no_ignore) a.set("ignore_index", ignore_index);
  return g.add(opdef::softmax_xent, {logits, labels}, a, name);
}

}  // namespace tandem::graph
