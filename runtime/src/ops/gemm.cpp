// gemm: c = alpha·op(a)·op(b) + beta·c; gemm_batched: the same for each matrix of a batch.
#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

void validate(const OpCall& c) {
  const Tensor &a = *c.in[0], &b = *c.in[1], &out = *c.out[0];
  const auto& p = c.param<GemmParams>();
  opcheck::rank(c, a, 2);
  opcheck::rank(c, b, 2);
  opcheck::rank(c, out, 2);
  opcheck::floating(c, a);
  opcheck::same_dtype(c, a, b);
  opcheck::same_dtype(c, a, out);
  const int64_t m = p.trans_a ? a.shape()[1] : a.shape()[0];
  const int64_t ka = p.trans_a ? a.shape()[0] : a.shape()[1];
  const int64_t kb = p.trans_b ? b.shape()[1] : b.shape()[0];
  const int64_t n = p.trans_b ? b.shape()[0] : b.shape()[1];
  if (ka != kb)
    c.fail("inner dimensions differ: " + opcheck::describe(c, a) + (p.trans_a ? "ᵀ" : "") + ", " +
           opcheck::describe(c, b) + (p.trans_b ? "ᵀ" : ""));
  if (out.shape()[0] != m || out.shape()[1] != n)
    c.fail(opcheck::describe(c, out) + ": expected [" + std::to_string(m) + "," + std::to_string(n) + "]");
}

OpCost cost(const OpCall& c) {
  const auto& p = c.param<GemmParams>();
  const Tensor& a = *c.in[0];
  const double k = static_cast<double>(p.trans_a ? a.shape()[0] : a.shape()[1]);
  const double mn = static_cast<double>(c.out[0]->numel());
  // c is read-write, but read only when beta ≠ 0.
  return {2.0 * mn * k, opcheck::bytes_of(c) - (p.beta == 0.0f ? static_cast<double>(c.out[0]->nbytes()) : 0.0)};
}

void validate_batched(const OpCall& c) {
  const Tensor &a = *c.in[0], &b = *c.in[1], &out = *c.out[0];
  const auto& p = c.param<GemmParams>();
  for (const Tensor* t : {&a, &b, &out}) opcheck::rank(c, *t, 3), opcheck::dtype(c, *t, DType::f32);
  opcheck::dim(c, b, 0, a.shape()[0], "the batch");
  opcheck::dim(c, out, 0, a.shape()[0], "the batch");
  const int64_t m = p.trans_a ? a.shape()[2] : a.shape()[1];
  const int64_t ka = p.trans_a ? a.shape()[1] : a.shape()[2];
  const int64_t kb = p.trans_b ? b.shape()[2] : b.shape()[1];
  const int64_t n = p.trans_b ? b.shape()[1] : b.shape()[2];
  if (ka != kb)
    c.fail("inner dimensions differ: " + opcheck::describe(c, a) + (p.trans_a ? "ᵀ" : "") + ", " +
           opcheck::describe(c, b) + (p.trans_b ? "ᵀ" : ""));
  if (out.shape()[1] != m || out.shape()[2] != n)
    c.fail(opcheck::describe(c, out) + ": expected [" + std::to_string(a.shape()[0]) + "," + std::to_string(m) + "," +
           std::to_string(n) + "]");
}

OpCost cost_batched(const OpCall& c) {
  const auto& p = c.param<GemmParams>();
  const Tensor& a = *c.in[0];
  const double k = static_cast<double>(p.trans_a ? a.shape()[1] : a.shape()[2]);
  const double mn = static_cast<double>(c.out[0]->numel());
  return {2.0 * mn * k, opcheck::bytes_of(c) - (p.beta == 0.0f ? static_cast<double>(c.out[0]->nbytes()) : 0.0)};
}

}  // namespace

const OpDesc opdesc::gemm("gemm", {"a", "b"}, {updates("c")}, validate, cost);
const OpDesc opdesc::gemm_batched("gemm_batched", {"a", "b"}, {updates("c")}, validate_batched, cost_batched);

void ops::gemm(Stream& s, const Tensor& a, const Tensor& b, const Tensor& c, const GemmParams& p) {
  dispatch(s, opdesc::gemm, {&a, &b}, {&c}, &p);
}
void ops::gemm_batched(Stream& s, const Tensor& a, const Tensor& b, const Tensor& c, const GemmParams& p) {
  dispatch(s, opdesc::gemm_batched, {&a, &b}, {&c}, &p);
}

}  // namespace tandem
