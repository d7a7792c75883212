// Broadcast arithmetic (add, sub, mul with NumPy's rules), expand, sum_to and scale: what
// position embeddings, class tokens and their gradients need. add() of two equal shapes stays
// the plain add (every device has it, the fusion pass knows it).
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

// The broadcast of two shapes (aligned at the last dimension), or fails naming both.
Shape broadcast_shape(InferCtx& c, const Shape& a, const Shape& b) {
  const int rank = std::max(a.rank(), b.rank());
  std::vector<int64_t> d(static_cast<size_t>(rank));
  for (int i = 1; i <= rank; ++i) {
    const int64_t x = i <= a.rank() ? a[a.rank() - i] : 1, y = i <= b.rank() ? b[b.rank() - i] : 1;
    if (x != y && x != 1 && y != 1) c.fail("shapes " + a.str() + " and " + b.str() + " do not broadcast");
    d[static_cast<size_t>(rank - i)] = x == 1 ? y : x;
  }
  return Shape(std::span<const int64_t>(d));
}

BinaryOp op_of(const Node& n) { return static_cast<BinaryOp>(n.attrs.i("op")); }

void infer_binary(InferCtx& c) {
  c.expect_dtype(0, DType::f32), c.expect_dtype(1, DType::f32);
  if (c.node.attrs.i("op") < 0 || c.node.attrs.i("op") > static_cast<int64_t>(BinaryOp::mul))
    c.fail("unknown binary op");
  c.out = {{broadcast_shape(c, c.shape(0), c.shape(1)), DType::f32}};
}
void run_binary(RunCtx& r) { ops::broadcast_binary(r.stream, r.in[0], r.in[1], r.out[0], {op_of(r.node)}); }

// d(a∘b): the output's gradient (times the other operand for mul; negated for b of sub), summed
// down to each operand's shape.
void grad_binary(GradCtx& c) {
  const BinaryOp op = op_of(c.node());
  for (size_t i = 0; i < 2; ++i) {
    if (!c.wants(i)) continue;
    const std::string which = i == 0 ? "a" : "b";
    ValueId d = c.dy(0);
    if (op == BinaryOp::mul) d = mul(c.g, d, c.x(1 - i), c.name(which + ".product"));
    d = sum_to(c.g, d, c.g.value(c.x(i)).shape, c.name(which));
    if (op == BinaryOp::sub && i == 1) d = scale(c.g, d, -1.0f, c.name("b.negated"));
    c.set(i, d);
  }
}

void infer_sum_to(InferCtx& c) {
  c.expect_dtype(0, DType::f32);
  const Shape to = c.node.attrs.shape();
  if (!(broadcast_shape(c, c.shape(0), to) == c.shape(0)))
    c.fail(to.str() + " does not broadcast to x " + c.shape(0).str());
  c.out = {{to, DType::f32}};
}
void run_sum_to(RunCtx& r) { ops::sum_to(r.stream, r.in[0], r.out[0]); }
void grad_sum_to(GradCtx& c) { c.set(0, expand(c.g, c.dy(0), c.g.value(c.x(0)).shape, c.name("x"))); }

void infer_expand(InferCtx& c) {
  c.expect_dtype(0, DType::f32);
  const Shape to = c.node.attrs.shape();
  if (!(broadcast_shape(c, c.shape(0), to) == to))
    c.fail("x " + c.shape(0).str() + " does not broadcast to " + to.str());
  c.out = {{to, DType::f32}};
}
// y = 0 + x broadcast.
void run_expand(RunCtx& r) {
  ops::fill(r.stream, r.out[0], 0.0f);
  ops::broadcast_binary(r.stream, r.out[0], r.in[0], r.out[0], {BinaryOp::add});
}
void grad_expand(GradCtx& c) { c.set(0, sum_to(c.g, c.dy(0), c.g.value(c.x(0)).shape, c.name("x"))); }

void infer_scale(InferCtx& c) {
  c.expect_dtype(0, DType::f32);
  c.out = {{c.shape(0), DType::f32}};
}
void run_scale(RunCtx& r) {
  if (!r.out[0].same_view(r.in[0])) copy(r.stream, r.in[0], r.out[0]);
  ops::scale(r.stream, r.node.attrs.f("alpha", 1.0f), r.out[0]);
}
void grad_scale(GradCtx& c) { c.set(0, scale(c.g, c.dy(0), c.node().attrs.f("alpha", 1.0f), c.name("x"))); }

ValueId binary(Graph& g, ValueId a, ValueId b, BinaryOp op, const std::string& name) {
  return g.add1(opdef::broadcast_binary, {a, b}, {{"op", static_cast<double>(op)}}, name);
}

Attrs shape_attrs(const Shape& s) {
  Attrs a;
  a.set_shape(s);
  return a;
}

}  // namespace

const GraphOp opdef::broadcast_binary{
    "broadcast_binary", {"a", "b"}, {"c"}, infer_binary, run_binary, grad_binary, {&tandem::opdesc::broadcast_binary}};
const GraphOp opdef::sum_to{"sum_to", {"x"}, {"y"}, infer_sum_to, run_sum_to, grad_sum_to, {&tandem::opdesc::sum_to}};
const GraphOp opdef::expand{"expand",
                            {"x"},
                            {"y"},
                            infer_expand,
                            run_expand,
                            grad_expand,
                            {&tandem::opdesc::fill, &tandem::opdesc::broadcast_binary}};
const GraphOp opdef::scale{"scale", {"x"}, {"y"}, infer_scale, run_scale, grad_scale, {&tandem::opdesc::scale},
                           {{0, 0}}};

ValueId add(Graph& g, ValueId a, ValueId b, const std::string& name) {
  if (g.value(a).shape == g.value(b).shape) return g.add1(opdef::add, {a, b}, {}, name);
  return binary(g, a, b, BinaryOp::add, name);
}
ValueId sub(Graph& g, ValueId a, ValueId b, const std::string& name) { return binary(g, a, b, BinaryOp::sub, name); }
ValueId mul(Graph& g, ValueId a, ValueId b, const std::string& name) { return binary(g, a, b, BinaryOp::mul, name); }

ValueId sum_to(Graph& g, ValueId x, const Shape& shape, const std::string& name) {
  if (g.value(x).shape == shape) return x;
  return g.add1(opdef::sum_to, {x}, shape_attrs(shape), name);
}
ValueId expand(Graph& g, ValueId x, const Shape& shape, const std::string& name) {
  if (g.value(x).shape == shape) return x;
  return g.add1(opdef::expand, {x}, shape_attrs(shape), name);
}
ValueId scale(Graph& g, ValueId x, float alpha, const std::string& name) {
  return g.add1(opdef::scale, {x}, {{"alpha", alpha}}, name);
}

}  // namespace tandem::graph
