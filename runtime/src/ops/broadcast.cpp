// Element-wise arithmetic with NumPy's broadcasting, and its gradient's reduction (sum_to).
#include <algorithm>
#include <string>

#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

// Whether `small`, aligned at the last dimension, broadcasts to `big` (each dimension 1 or equal).
bool broadcasts(const Shape& small, const Shape& big) {
  if (small.rank() > big.rank()) return false;
  for (int i = 1; i <= small.rank(); ++i) {
    const int64_t s = small[small.rank() - i], b = big[big.rank() - i];
    if (s != 1 && s != b) return false;
  }
  return true;
}

void validate_binary(const OpCall& c) {
  const Tensor &a = *c.in[0], &b = *c.in[1], &out = *c.out[0];
  const auto op = static_cast<uint8_t>(c.param<BinaryParams>().op);
  if (op > static_cast<uint8_t>(BinaryOp::mul)) c.fail("unknown binary op " + std::to_string(op));
  for (const Tensor* t : {&a, &b, &out}) opcheck::dtype(c, *t, DType::f32);
  for (const Tensor* t : {&a, &b})
    if (!broadcasts(t->shape(), out.shape()))
      c.fail(opcheck::describe(c, *t) + " does not broadcast to " + opcheck::describe(c, out));
  // c is written element by element in order; an alias is safe only for a same-shape operand.
}

void validate_sum_to(const OpCall& c) {
  const Tensor &x = *c.in[0], &y = *c.out[0];
  opcheck::dtype(c, x, DType::f32), opcheck::dtype(c, y, DType::f32);
  if (!broadcasts(y.shape(), x.shape()))
    c.fail(opcheck::describe(c, y) + " does not broadcast to " + opcheck::describe(c, x));
}

OpCost cost(const OpCall& c) {
  return {static_cast<double>(std::max(c.in[0]->numel(), c.out[0]->numel())), opcheck::bytes_of(c)};
}

}  // namespace

std::array<int64_t, Shape::max_rank> broadcast_strides(const Shape& from, const Shape& to) {
  std::array<int64_t, Shape::max_rank> stride{};
  int64_t s = 1;
  for (int i = 1; i <= from.rank(); ++i) {
    const int64_t n = from[from.rank() - i];
    stride[static_cast<size_t>(to.rank() - i)] = n == 1 ? 0 : s;
    s *= n;
  }
  return stride;
}

const OpDesc opdesc::broadcast_binary("broadcast_binary", {"a", "b"}, {writes("c")}, validate_binary, cost,
                                      {{"c", "a"}, {"c", "b"}});
const OpDesc opdesc::sum_to("sum_to", {"x"}, {writes("y")}, validate_sum_to, cost);

void ops::broadcast_binary(Stream& s, const Tensor& a, const Tensor& b, const Tensor& c, const BinaryParams& p) {
  dispatch(s, opdesc::broadcast_binary, {&a, &b}, {&c}, &p);
}
void ops::sum_to(Stream& s, const Tensor& x, const Tensor& y) { dispatch(s, opdesc::sum_to, {&x}, {&y}); }

}  // namespace tandem
