// matmul: c = op(a)·op(b) on 2-D f32 values, op(x) = x or xᵀ (the gemm kernel's transposes), and
// on batches of matrices (3-D values, gemm_batched): attention's products.
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

// rank 2 (matmul) or 3 (batched_matmul: one batch dimension first, the same in a and b).
void infer_rank(InferCtx& c, int rank) {
  c.expect_rank(0, rank), c.expect_rank(1, rank), c.expect_dtype(0, DType::f32), c.expect_dtype(1, DType::f32);
  const bool ta = c.node.attrs.i("trans_a") != 0, tb = c.node.attrs.i("trans_b") != 0;
  const Shape &a = c.shape(0), &b = c.shape(1);
  const int o = rank - 2;  // the first matrix dimension
  if (rank == 3 && a[0] != b[0]) c.fail("a and b differ in batch (" + std::to_string(a[0]) + " and " + std::to_string(b[0]) + ")");
  const int64_t m = ta ? a[o + 1] : a[o], k = ta ? a[o] : a[o + 1], kb = tb ? b[o + 1] : b[o], n = tb ? b[o] : b[o + 1];
  if (k != kb) c.fail("inner dimensions differ (" + std::to_string(k) + " and " + std::to_string(kb) + ")");
  c.out = {{rank == 3 ? Shape{a[0], m, n} : Shape{m, n}, DType::f32}};
}
void infer(InferCtx& c) { infer_rank(c, 2); }
void infer_batched(InferCtx& c) { infer_rank(c, 3); }

GemmParams params(const Node& n) {
  return {.trans_a = n.attrs.i("trans_a") != 0, .trans_b = n.attrs.i("trans_b") != 0};
}
void run(RunCtx& r) { ops::gemm(r.stream, r.in[0], r.in[1], r.out[0], params(r.node)); }
void run_batched(RunCtx& r) { ops::gemm_batched(r.stream, r.in[0], r.in[1], r.out[0], params(r.node)); }

// For c = A·B with A = op(a), B = op(b): dA = dc·Bᵀ and dB = Aᵀ·dc, each written as one gemm
// on the stored a, b and dc (da = dAᵀ when a is stored transposed, and likewise b).
void grad(GradCtx& c) {
  const bool ta = c.node().attrs.i("trans_a") != 0, tb = c.node().attrs.i("trans_b") != 0;
  const ValueId a = c.x(0), b = c.x(1), dc = c.dy(0);
  if (c.wants(0))
    c.set(0, ta ? matmul(c.g, b, dc, tb, true, c.name("a"))     // da = B·dcᵀ
                : matmul(c.g, dc, b, false, !tb, c.name("a")));  // da = dc·Bᵀ
  if (c.wants(1))
    c.set(1, tb ? matmul(c.g, dc, a, true, ta, c.name("b"))      // db = dcᵀ·A
                : matmul(c.g, a, dc, !ta, false, c.name("b")));  // db = Aᵀ·dc
}

}  // namespace

const GraphOp opdef::matmul{"matmul", {"a", "b"}, {"c"}, infer, run, grad, {&tandem::opdesc::gemm}};
const GraphOp opdef::batched_matmul{"batched_matmul", {"a", "b"},   {"c"},
                                    infer_batched,    run_batched, grad,
                                    {&tandem::opdesc::gemm_batched}};

ValueId matmul(Graph& g, ValueId a, ValueId b, bool trans_a, bool trans_b, const std::string& name) {
  const GraphOp& op = g.value(a).shape.rank() == 3 ? opdef::batched_matmul : opdef::matmul;
  return g.add1(op, {a, b}, {{"trans_a", trans_a ? 1 : 0}, {"trans_b", trans_b ? 1 : 0}}, name);
}

}  // namespace tandem::graph
