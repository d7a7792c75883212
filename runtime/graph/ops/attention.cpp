// Fused attention (ops::attention_forward) with its gradient, and the pass that makes it from
// attention written out: batched matmul q·kᵀ, softmax over the keys, batched matmul with v.
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

AttentionParams params(const Attrs& a) { return {a.f("scale", 1.0f)}; }

void infer(InferCtx& c) {
  for (size_t i = 0; i < 3; ++i) c.expect_rank(i, 3), c.expect_dtype(i, DType::f32);
  const Shape &q = c.shape(0), &k = c.shape(1), &v = c.shape(2);
  if (!(k == v) || k[0] != q[0] || k[2] != q[2])
    c.fail("k and v must be [B, Tk, d] with q's batch and width, given q " + q.str() + ", k " + k.str() + ", v " + v.str());
  c.out = {{q, DType::f32}};
}
void run(RunCtx& r) { ops::attention_forward(r.stream, r.in[0], r.in[1], r.in[2], r.out[0], params(r.node.attrs)); }
void grad(GradCtx& c) {
  const auto d = c.g.add(opdef::attention_backward, {c.x(0), c.x(1), c.x(2), c.y(0), c.dy(0)}, c.node().attrs, c.name("qkv"));
  c.set(0, d[0]), c.set(1, d[1]), c.set(2, d[2]);
}

void infer_backward(InferCtx& c) {
  infer(c);
  if (!(c.shape(3) == c.shape(0)) || !(c.shape(4) == c.shape(0))) c.fail("o and do must have q's shape");
  c.out = {{c.shape(0), DType::f32}, {c.shape(1), DType::f32}, {c.shape(2), DType::f32}};
}
void run_backward(RunCtx& r) {
  ops::attention_backward(r.stream, r.in[0], r.in[1], r.in[2], r.in[3], r.in[4], r.out[0], r.out[1], r.out[2],
                          params(r.node.attrs));
}

bool is_matmul(const Node* n, bool trans_b) {
  return n != nullptr && n->op == &opdef::batched_matmul && n->attrs.i("trans_a") == 0 &&
         (n->attrs.i("trans_b") != 0) == trans_b;
}

}  // namespace

const GraphOp opdef::attention{
    "attention", {"q", "k", "v"}, {"o"}, infer, run, grad, {&tandem::opdesc::attention_forward}};
const GraphOp opdef::attention_backward{"attention_backward",
                                        {"q", "k", "v", "o", "do"},
                                        {"dq", "dk", "dv"},
                                        infer_backward,
                                        run_backward,
                                        nullptr,
                                        {&tandem::opdesc::attention_backward}};

ValueId attention(Graph& g, ValueId q, ValueId k, ValueId v, float scale, const std::string& name) {
  return g.add1(opdef::attention, {q, k, v}, {{"scale", scale}}, name);
}

size_t fuse_attention(Graph& g, int64_t min_head_width) {
  const auto readers = g.consumers();
  size_t fused = 0;
  for (size_t i = 0; i < g.nodes(); ++i) {
    Node& out = g.node(i);
    if (!is_matmul(&out, false)) continue;
    Node* soft = g.fusable_producer(readers, out.inputs[0]);
    if (soft == nullptr || soft->op != &opdef::softmax) continue;
    const ValueId scores = soft->inputs[0];
    if (normalize_axis(static_cast<int>(soft->attrs.i("axis", -1)), g.value(scores).shape.rank()) != 2) continue;
    Node* qk = g.fusable_producer(readers, scores);
    if (!is_matmul(qk, true)) continue;
    const Device d = out.device;
    if (!(soft->device == d) || !(qk->device == d) || !d.supports(tandem::opdesc::attention_forward) ||
        !d.supports(tandem::opdesc::attention_backward))
      continue;
    // The product with v now computes the whole attention; the scores and softmax go dead.
    const ValueId q = qk->inputs[0], k = qk->inputs[1], v = out.inputs[1];
    if (g.value(q).shape[2] < min_head_width) continue;
    out.op = &opdef::attention;
    out.inputs = {q, k, v};
    out.attrs = Attrs{{"scale", soft->attrs.f("scale", 1.0f)}};
    ++fused;
  }
  if (fused > 0) g.remove_dead_nodes();
  return fused;
}

}  // namespace tandem::graph
