// Embedding lookup by id; its gradient scatters into a zeroed table (ids get none).
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

Shape rows_shape(const Shape& ids, int64_t width) {
  std::vector<int64_t> d(ids.begin(), ids.end());
  d.push_back(width);
  return Shape(std::span<const int64_t>(d));
}

void infer(InferCtx& c) {
  c.expect_dtype(0, DType::i32), c.expect_rank(1, 2), c.expect_dtype(1, DType::f32);
  if (c.shape(0).rank() >= Shape::max_rank) c.fail("ids have too many dimensions");
  c.out = {{rows_shape(c.shape(0), c.shape(1)[1]), DType::f32}};
}
void run(RunCtx& r) { ops::embedding_forward(r.stream, r.in[0], r.in[1], r.out[0]); }
void grad(GradCtx& c) {
  Attrs a;
  a.set_shape(c.g.value(c.x(1)).shape);
  c.set(1, c.g.add1(opdef::embedding_backward, {c.x(0), c.dy(0)}, a, c.name("table")));
}

void infer_backward(InferCtx& c) {
  c.expect_dtype(0, DType::i32);
  const Shape table = c.node.attrs.shape();
  if (table.rank() != 2 || !(c.shape(1) == rows_shape(c.shape(0), table[1])))
    c.fail("dy must have the ids' shape with the table's " + std::to_string(table.rank() == 2 ? table[1] : 0) +
           " columns");
  c.out = {{table, DType::f32}};
}
void run_backward(RunCtx& r) {
  ops::fill(r.stream, r.out[0], 0.0f);
  ops::embedding_backward(r.stream, r.in[0], r.in[1], r.out[0]);
}

}  // namespace

const GraphOp opdef::embedding{
    "embedding", {"ids", "table"}, {"y"}, infer, run, grad, {&tandem::opdesc::embedding_forward}};
const GraphOp opdef::embedding_backward{"embedding_backward",
                                        {"ids", "dy"},
                                        {"dtable"},
                                        infer_backward,
                                        run_backward,
                                        nullptr,
                                        {&tandem::opdesc::fill, &tandem::opdesc::embedding_backward}};

ValueId embedding(Graph& g, ValueId ids, ValueId table, const std::string& name) {
  return g.add1(opdef::embedding, {ids, table}, {}, name);
}

}  // namespace tandem::graph
