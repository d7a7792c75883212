// maxpool2d: y and the position of each maximum (i32), which its gradient routes dy through;
// bias + ReLU + maxpool2d fused, and the pass that fuses them.
#include "pool.h"
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

void infer(InferCtx& c) {
  const Shape y = pool_window_out(c);
  c.out = {{y, DType::f32}, {y, DType::i32}};
}
void run(RunCtx& r) { ops::maxpool2d_forward(r.stream, r.in[0], r.out[0], r.out[1], pool_params(r.node.attrs)); }
void grad(GradCtx& c) {
  const Shape& x = c.g.value(c.x(0)).shape;
  Attrs a{{"n", x[0]}, {"c", x[1]}, {"h", x[2]}, {"w", x[3]}};
  c.set(0, c.g.add1(opdef::maxpool2d_backward, {c.dy(0), c.y(1)}, a, c.name("x")));
}

// (x, bias) -> (y, indices): the pool of max(x + bias, 0).
void infer_fused(InferCtx& c) {
  if (c.shape(1).rank() != 1 || c.shape(0).rank() != 4 || c.shape(1)[0] != c.shape(0)[1])
    c.fail("bias must have one value per channel (dimension 1)");
  infer(c);
}
void run_fused(RunCtx& r) {
  ops::bias_relu_maxpool2d(r.stream, r.in[0], r.in[1], r.out[0], r.out[1], pool_params(r.node.attrs));
}
// The three rules composed, from the pooled output: a window's maximum is positive exactly where
// the ReLU let its element through, so dz = dy where y > 0, routed to the maxima; dbias = Σ dz.
void grad_fused(GradCtx& c) {
  const ValueId dz = c.g.add1(opdef::relu_backward, {c.y(0), c.dy(0)}, {}, c.name("relu"));
  const Shape& x = c.g.value(c.x(0)).shape;
  Attrs a{{"n", x[0]}, {"c", x[1]}, {"h", x[2]}, {"w", x[3]}};
  const ValueId dx = c.g.add1(opdef::maxpool2d_backward, {dz, c.y(1)}, a, c.name("x"));
  c.set(0, dx);
  if (c.wants(1)) c.set(1, c.g.add1(opdef::bias_backward, {dx}, {}, c.name("bias")));
}

void infer_backward(InferCtx& c) {
  const Attrs& a = c.node.attrs;
  if (!(c.shape(0) == c.shape(1))) c.fail("dy and indices differ in shape");
  c.expect_dtype(1, DType::i32);
  c.out = {{Shape{a.i("n"), a.i("c"), a.i("h"), a.i("w")}, DType::f32}};
}
void run_backward(RunCtx& r) { ops::maxpool2d_backward(r.stream, r.in[0], r.in[1], r.out[0]); }

}  // namespace

const GraphOp opdef::maxpool2d{
    "maxpool2d", {"x"}, {"y", "indices"}, infer, run, grad, {&tandem::opdesc::maxpool2d_forward}};
const GraphOp opdef::bias_relu_maxpool2d{"bias_relu_maxpool2d",
                                         {"x", "bias"},
                                         {"y", "indices"},
                                         infer_fused,
                                         run_fused,
                                         grad_fused,
                                         {&tandem::opdesc::bias_relu_maxpool2d}};
const GraphOp opdef::maxpool2d_backward{"maxpool2d_backward",
                                        {"dy", "indices"},
                                        {"dx"},
                                        infer_backward,
                                        run_backward,
                                        nullptr,
                                        {&tandem::opdesc::maxpool2d_backward}};

std::vector<ValueId> maxpool2d(Graph& g, ValueId x, const Pool2dParams& p, const std::string& name) {
  return g.add(opdef::maxpool2d, {x}, {{"kernel", p.kernel}, {"stride", p.stride}}, name);
}

size_t fuse_bias_relu_pool(Graph& g) {
  const auto readers = g.consumers();
  size_t fused = 0;
  for (size_t i = 0; i < g.nodes(); ++i) {
    Node& pool = g.node(i);
    if (pool.op != &opdef::maxpool2d || !pool.device.supports(tandem::opdesc::bias_relu_maxpool2d)) continue;
    Node* relu = g.fusable_producer(readers, pool.inputs[0]);
    if (relu == nullptr || relu->op != &opdef::relu || !(relu->device == pool.device)) continue;
    Node* bias = g.fusable_producer(readers, relu->inputs[0]);
    if (bias == nullptr || bias->op != &opdef::bias_add || !(bias->device == pool.device)) continue;
    // The pool now reads the bias's inputs; the bias and the ReLU, unread, are dead.
    pool.op = &opdef::bias_relu_maxpool2d;
    pool.inputs = {bias->inputs[0], bias->inputs[1]};
    ++fused;
  }
  if (fused > 0) g.remove_dead_nodes();
  return fused;
}

}  // namespace tandem::graph
