// Ops that move or re-view memory: reshape (a view) and transfer (to another device).
#include "tandem/graph/ops.h"

#include "tandem/error.h"

namespace tandem::graph {
namespace {

void infer_reshape(InferCtx& c) {
  const Shape s = c.node.attrs.shape();
  if (s.numel() != c.shape(0).numel()) c.fail("cannot view " + std::to_string(c.shape(0).numel()) + " elements as " + s.str());
  c.out = {{s, c.in[0]->dtype}};
}
// The executor makes the output a view of the input; nothing runs.
void run_view(RunCtx&) {}
void grad_reshape(GradCtx& c) { c.set(0, reshape(c.g, c.dy(0), c.g.value(c.x(0)).shape, c.name("x"))); }

void infer_transfer(InferCtx& c) { c.out = {{c.shape(0), c.in[0]->dtype}}; }
// Ordered by streams rather than by the host where the devices queue copies: from host memory
// (whose work is done once its ops return) on the destination's stream; otherwise on the
// source's stream (after its work), which the destination's stream then waits for when it is
// host memory (between two devices the copy is synchronous).
void run_transfer(RunCtx& r) {
  const Device from = r.in[0].device(), to = r.out[0].device();
  if (from.props().host_accessible) return copy(r.stream, r.in[0], r.out[0]);
  Stream& src = r.stream_of(from);
  copy(src, r.in[0], r.out[0]);
  if (to.props().host_accessible) r.stream.wait(src.record());
}
void grad_transfer(GradCtx& c) {
  c.set(0, transfer(c.g, c.dy(0), c.g.value(c.x(0)).device, c.name("x")));
}

}  // namespace

const GraphOp opdef::reshape{"reshape", {"x"}, {"y"}, infer_reshape, run_view, grad_reshape, {}, {}, true};
const GraphOp opdef::transfer{"transfer", {"x"}, {"y"}, infer_transfer, run_transfer, grad_transfer, {}};

ValueId reshape(Graph& g, ValueId x, const Shape& shape, const std::string& name) {
  Attrs a;
  a.set_shape(shape);
  return g.add1(opdef::reshape, {x}, a, name);
}

ValueId flatten(Graph& g, ValueId x, const std::string& name) {
  const Shape& s = g.value(x).shape;
  return reshape(g, x, {s[0], s.numel() / s[0]}, name);
}

// The node and its output live on the destination; the executor runs it on that device's stream.
ValueId transfer(Graph& g, ValueId x, const Device& to, const std::string& name) {
  const Device before = g.device();
  g.set_device(to);
  const ValueId y = g.add1(opdef::transfer, {x}, {}, name);
  g.set_device(before);
  return y;
}

}  // namespace tandem::graph
