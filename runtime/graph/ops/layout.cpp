// Layout ops: permute (a view when only unit dimensions move), slice and concat along an axis
// (copy_region), and their gradients.
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

PermuteParams perm_of(const Attrs& a, int rank) {
  PermuteParams p;
  for (int i = 0; i < rank; ++i) p.perm[static_cast<size_t>(i)] = static_cast<int8_t>(a.i("p" + std::to_string(i), i));
  return p;
}

void infer_permute(InferCtx& c) {
  const Shape& x = c.shape(0);
  const PermuteParams p = perm_of(c.node.attrs, x.rank());
  std::vector<int64_t> d;
  unsigned seen = 0;
  for (int i = 0; i < x.rank(); ++i) {
    const int from = p.perm[static_cast<size_t>(i)];
    if (from < 0 || from >= x.rank() || (seen & (1u << from)) != 0)
      c.fail("perm is not a permutation of x's dimensions");
    seen |= 1u << from;
    d.push_back(x[from]);
  }
  c.out = {{Shape(std::span<const int64_t>(d)), c.in[0]->dtype}};
}
void run_permute(RunCtx& r) {
  ops::permute(r.stream, r.in[0], r.out[0], perm_of(r.node.attrs, r.in[0].shape().rank()));
}
void grad_permute(GradCtx& c) {
  const int rank = c.g.value(c.x(0)).shape.rank();
  const PermuteParams p = perm_of(c.node().attrs, rank);
  std::vector<int> inverse(static_cast<size_t>(rank));
  for (int i = 0; i < rank; ++i) inverse[static_cast<size_t>(p.perm[static_cast<size_t>(i)])] = i;
  c.set(0, permute(c.g, c.dy(0), inverse, c.name("x")));
}

RegionParams region(const Attrs& a) {
  return {static_cast<int>(a.i("axis")), a.i("src_offset"), a.i("dst_offset"), a.i("length")};
}

// slice: x -> y, `length` positions from `start` along `axis`.
void infer_slice(InferCtx& c) {
  const Shape& x = c.shape(0);
  const int axis = static_cast<int>(c.node.attrs.i("axis"));
  const int64_t start = c.node.attrs.i("src_offset"), length = c.node.attrs.i("length");
  if (axis < 0 || axis >= x.rank()) c.fail("x has no axis " + std::to_string(axis));
  if (start < 0 || length < 1 || start + length > x[axis])
    c.fail("positions [" + std::to_string(start) + ", " + std::to_string(start + length) + ") are outside axis " +
           std::to_string(axis) + " of " + std::to_string(x[axis]));
  std::vector<int64_t> d(x.begin(), x.end());
  d[static_cast<size_t>(axis)] = length;
  c.out = {{Shape(std::span<const int64_t>(d)), c.in[0]->dtype}};
}
void run_slice(RunCtx& r) { ops::copy_region(r.stream, r.in[0], r.out[0], region(r.node.attrs)); }
void grad_slice(GradCtx& c) {
  Attrs a = c.node().attrs;
  a.set_shape(c.g.value(c.x(0)).shape);
  a.set("dst_offset", static_cast<double>(a.i("src_offset"))), a.set("src_offset", 0);
  c.set(0, c.g.add1(opdef::slice_backward, {c.dy(0)}, a, c.name("x")));
}

// slice_backward: dy placed at its offset in zeros of x's shape.
void infer_slice_backward(InferCtx& c) { c.out = {{c.node.attrs.shape(), c.in[0]->dtype}}; }
void run_slice_backward(RunCtx& r) {
  ops::fill(r.stream, r.out[0], 0.0f);
  ops::copy_region(r.stream, r.in[0], r.out[0], region(r.node.attrs));
}

// concat of a and b along `axis`.
void infer_concat(InferCtx& c) {
  const Shape &a = c.shape(0), &b = c.shape(1);
  const int axis = static_cast<int>(c.node.attrs.i("axis"));
  if (axis < 0 || axis >= a.rank()) c.fail("a has no axis " + std::to_string(axis));
  bool fits = a.rank() == b.rank() && c.in[0]->dtype == c.in[1]->dtype;
  for (int i = 0; fits && i < a.rank(); ++i) fits = i == axis || a[i] == b[i];
  if (!fits) c.fail("a and b differ beside axis " + std::to_string(axis));
  std::vector<int64_t> d(a.begin(), a.end());
  d[static_cast<size_t>(axis)] += b[axis];
  c.out = {{Shape(std::span<const int64_t>(d)), c.in[0]->dtype}};
}
void run_concat(RunCtx& r) {
  const int axis = static_cast<int>(r.node.attrs.i("axis"));
  const int64_t na = r.in[0].shape()[axis], nb = r.in[1].shape()[axis];
  ops::copy_region(r.stream, r.in[0], r.out[0], {axis, 0, 0, na});
  ops::copy_region(r.stream, r.in[1], r.out[0], {axis, 0, na, nb});
}
void grad_concat(GradCtx& c) {
  const int axis = static_cast<int>(c.node().attrs.i("axis"));
  const int64_t na = c.g.value(c.x(0)).shape[axis], nb = c.g.value(c.x(1)).shape[axis];
  if (c.wants(0)) c.set(0, slice(c.g, c.dy(0), axis, 0, na, c.name("a")));
  if (c.wants(1)) c.set(1, slice(c.g, c.dy(0), axis, na, nb, c.name("b")));
}

}  // namespace

const GraphOp opdef::permute{
    "permute", {"x"}, {"y"}, infer_permute, run_permute, grad_permute, {&tandem::opdesc::permute}};
const GraphOp opdef::slice{"slice", {"x"}, {"y"}, infer_slice, run_slice, grad_slice, {&tandem::opdesc::copy_region}};
const GraphOp opdef::slice_backward{"slice_backward",
                                    {"dy"},
                                    {"dx"},
                                    infer_slice_backward,
                                    run_slice_backward,
                                    nullptr,
                                    {&tandem::opdesc::fill, &tandem::opdesc::copy_region}};
const GraphOp opdef::concat{
    "concat", {"a", "b"}, {"c"}, infer_concat, run_concat, grad_concat, {&tandem::opdesc::copy_region}};

ValueId permute(Graph& g, ValueId x, const std::vector<int>& perm, const std::string& name) {
  const Shape& s = g.value(x).shape;
  if (static_cast<int>(perm.size()) != s.rank())
    throw Error(ErrorKind::invalid_argument, "", "node " + name + " (permute)",
                "perm names " + std::to_string(perm.size()) + " dimensions of x " + s.str());
  // Moving only unit dimensions keeps the elements in order: a view.
  std::vector<int64_t> d;
  int last = -1;
  bool in_order = true;
  for (int from : perm) {
    if (from < 0 || from >= s.rank()) in_order = false;
    if (!in_order) break;
    d.push_back(s[from]);
    if (s[from] == 1) continue;
    in_order = from > last, last = from;
  }
  if (in_order) return reshape(g, x, Shape(std::span<const int64_t>(d)), name);
  Attrs a;
  for (size_t i = 0; i < perm.size(); ++i) a.set("p" + std::to_string(i), perm[i]);
  return g.add1(opdef::permute, {x}, a, name);
}

ValueId slice(Graph& g, ValueId x, int axis, int64_t start, int64_t length, const std::string& name) {
  return g.add1(opdef::slice, {x},
                {{"axis", axis},
                 {"src_offset", static_cast<double>(start)},
                 {"dst_offset", 0},
                 {"length", static_cast<double>(length)}},
                name);
}

ValueId concat(Graph& g, ValueId a, ValueId b, int axis, const std::string& name) {
  return g.add1(opdef::concat, {a, b}, {{"axis", axis}}, name);
}

}  // namespace tandem::graph
