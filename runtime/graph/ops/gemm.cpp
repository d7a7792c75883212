// matmul: c = op(a)·op(b) on 2-D f32 values, op(x) = x or xᵀ (the gemm kernel's transposes).
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

void infer(InferCtx& c) {
  c.expect_rank(0, 2), c.expect_rank(1, 2), c.expect_dtype(0, DType::f32), c.expect_dtype(1, DType::f32);
  const bool ta = c.node.attrs.i("trans_a") != 0, tb = c.node.attrs.i("trans_b") != 0;
  const Shape &a = c.shape(0), &b = c.shape(1);
  const int64_t m = ta ? a[1] : a[0], k = ta ? a[0] : a[1], kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
  if (k != kb) c.fail("inner dimensions differ (" + std::to_string(k) + " and " + std::to_string(kb) + ")");
  c.out = {{Shape{m, n}, DType::f32}};
}

void run(RunCtx& r) {
  ops::gemm(r.stream, r.in[0], r.in[1], r.out[0],
            {.trans_a = r.node.attrs.i("trans_a") != 0, .trans_b = r.node.attrs.i("trans_b") != 0});
}

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

ValueId matmul(Graph& g, ValueId a, ValueId b, bool trans_a, bool trans_b, const std::string& name) {
  return g.add1(opdef::matmul, {a, b}, {{"trans_a", trans_a ? 1 : 0}, {"trans_b", trans_b ? 1 : 0}}, name);
}

}  // namespace tandem::graph
