// Embedding lookup (a gather of table rows by id) and its gradient (a scatter-add into the table).
#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

// ids i32 [...], the table [V, D], rows [ids..., D].
void validate_common(const OpCall& c, const Tensor& ids, const Tensor& table, const Tensor& rows) {
  opcheck::dtype(c, ids, DType::i32);
  opcheck::rank(c, table, 2);
  opcheck::dtype(c, table, DType::f32);
  opcheck::dtype(c, rows, DType::f32);
  const Shape& is = ids.shape();
  bool ok = rows.shape().rank() == is.rank() + 1 && rows.shape()[is.rank()] == table.shape()[1];
  for (int i = 0; ok && i < is.rank(); ++i) ok = rows.shape()[i] == is[i];
  if (!ok)
    c.fail(opcheck::describe(c, rows) + ": expected the shape of " + opcheck::describe(c, ids) + " with the " +
           std::to_string(table.shape()[1]) + " columns of " + opcheck::describe(c, table));
}

void validate_forward(const OpCall& c) { validate_common(c, *c.in[0], *c.in[1], *c.out[0]); }
void validate_backward(const OpCall& c) { validate_common(c, *c.in[0], *c.out[0], *c.in[1]); }

OpCost cost(const OpCall& c) {
  const Tensor& rows = &c.op == &opdesc::embedding_forward ? *c.out[0] : *c.in[1];
  return {static_cast<double>(rows.numel()), opcheck::bytes_of(c)};
}

}  // namespace

const OpDesc opdesc::embedding_forward("embedding_forward", {"ids", "table"}, {writes("y")}, validate_forward, cost);
const OpDesc opdesc::embedding_backward("embedding_backward", {"ids", "dy"}, {updates("dtable")}, validate_backward,
                                        cost);

void ops::embedding_forward(Stream& s, const Tensor& ids, const Tensor& table, const Tensor& y) {
  dispatch(s, opdesc::embedding_forward, {&ids, &table}, {&y});
}
void ops::embedding_backward(Stream& s, const Tensor& ids, const Tensor& dy, const Tensor& dtable) {
  dispatch(s, opdesc::embedding_backward, {&ids, &dy}, {&dtable});
}

}  // namespace tandem
