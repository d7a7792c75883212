// Fused attention (softmax(scale·q·kᵀ)·v per batch entry) and its gradient.
#include <cmath>
#include <string>

#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

// q [B,Tq,d], k and v [B,Tk,d], f32, the scale finite; returns nothing, fails naming the tensor.
void validate_qkv(const OpCall& c) {
  const Tensor &q = *c.in[0], &k = *c.in[1], &v = *c.in[2];
  for (const Tensor* t : {&q, &k, &v}) opcheck::rank(c, *t, 3), opcheck::dtype(c, *t, DType::f32);
  opcheck::dim(c, k, 0, q.shape()[0], "the batch");
  opcheck::dim(c, k, 2, q.shape()[2], "the head width");
  opcheck::same_shape(c, k, v);
  const float scale = c.param<AttentionParams>().scale;
  if (!std::isfinite(scale)) c.fail("scale must be finite (got " + std::to_string(scale) + ")");
}

void validate(const OpCall& c) {
  validate_qkv(c);
  opcheck::same_shape(c, *c.in[0], *c.out[0]), opcheck::same_dtype(c, *c.in[0], *c.out[0]);
}

void validate_backward(const OpCall& c) {
  validate_qkv(c);
  const Tensor &q = *c.in[0], &k = *c.in[1];
  for (const Tensor* t : {c.in[3], c.in[4], c.out[0]}) opcheck::same_shape(c, q, *t), opcheck::same_dtype(c, q, *t);
  for (const Tensor* t : {c.out[1], c.out[2]}) opcheck::same_shape(c, k, *t), opcheck::same_dtype(c, k, *t);
}

// Forward: q·kᵀ and p·v (2·Tk·d each per query row) and the row's exponentials; backward about
// two and a half times that (the scores recomputed, then dv, dp, dq and dk).
double flops(const OpCall& c) {
  const Shape &q = c.in[0]->shape(), &k = c.in[1]->shape();
  return static_cast<double>(q[0]) * static_cast<double>(q[1]) * static_cast<double>(k[1]) *
         (4.0 * static_cast<double>(q[2]) + 3.0);
}
OpCost cost(const OpCall& c) { return {flops(c), opcheck::bytes_of(c)}; }
OpCost cost_backward(const OpCall& c) { return {2.5 * flops(c), opcheck::bytes_of(c)}; }

}  // namespace

const OpDesc opdesc::attention_forward("attention_forward", {"q", "k", "v"}, {writes("o")}, validate, cost);
const OpDesc opdesc::attention_backward("attention_backward", {"q", "k", "v", "o", "do"},
                                        {writes("dq"), writes("dk"), writes("dv")}, validate_backward, cost_backward);

void ops::attention_forward(Stream& s, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& o,
                            const AttentionParams& p) {
  dispatch(s, opdesc::attention_forward, {&q, &k, &v}, {&o}, &p);
}
void ops::attention_backward(Stream& s, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& o,
                             const Tensor& dout, const Tensor& dq, const Tensor& dk, const Tensor& dv,
                             const AttentionParams& p) {
  dispatch(s, opdesc::attention_backward, {&q, &k, &v, &o, &dout}, {&dq, &dk, &dv}, &p);
}

}  // namespace tandem
