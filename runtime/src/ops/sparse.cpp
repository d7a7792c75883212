// Sparse codec primitives: stratified sampling, k-th magnitude, compaction by threshold,
// scatter-add, and Philox-keyed random fill. Indices are i32, so x holds fewer than 2³¹ elements.
#include <algorithm>
#include <limits>

#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

void indexable(const OpCall& c, const Tensor& x) {
  opcheck::dtype(c, x, DType::f32);
  if (x.numel() > std::numeric_limits<int32_t>::max())
    c.fail(opcheck::describe(c, x) + ": more than 2^31 - 1 elements cannot be indexed by i32");
}

// idx i32 [m] and val f32 [m].
void pairs(const OpCall& c, const Tensor& idx, const Tensor& val) {
  opcheck::dtype(c, idx, DType::i32);
  opcheck::dtype(c, val, DType::f32);
  opcheck::rank(c, idx, 1);
  opcheck::rank(c, val, 1);
  opcheck::dim(c, val, 0, idx.numel(), "length (of idx)");
}

void scalar(const OpCall& c, const Tensor& t, DType d) {
  opcheck::dtype(c, t, d);
  if (t.numel() != 1) c.fail(opcheck::describe(c, t) + ": expected one element");
}

void validate_sample(const OpCall& c) {
  const Tensor& x = *c.in[0];
  indexable(c, x);
  pairs(c, *c.out[0], *c.out[1]);
  if (c.out[0]->numel() < 1 || c.out[0]->numel() > x.numel())
    c.fail("cannot sample " + std::to_string(c.out[0]->numel()) + " of " + std::to_string(x.numel()) + " elements");
}

void validate_kth(const OpCall& c) {
  const Tensor& x = *c.in[0];
  opcheck::dtype(c, x, DType::f32);
  scalar(c, *c.out[0], DType::f32);
  const int64_t k = c.param<SelectParams>().k;
  if (k < 1 || k > x.numel())
    c.fail("k = " + std::to_string(k) + " outside [1, " + std::to_string(x.numel()) + "] for " +
           opcheck::describe(c, x));
}

void validate_compact(const OpCall& c) {
  indexable(c, *c.in[0]);
  scalar(c, *c.in[1], DType::f32);
  pairs(c, *c.out[0], *c.out[1]);
  scalar(c, *c.out[2], DType::i32);
  if (c.param<CompactParams>().limit < 0) c.fail("limit must be ≥ 0");
}

void validate_scatter_add(const OpCall& c) {
  pairs(c, *c.in[0], *c.in[1]);
  indexable(c, *c.out[0]);
}

void validate_fill(const OpCall& c) { opcheck::dtype(c, *c.out[0], DType::f32); }

// Reads or writes every element of the largest tensor once.
OpCost cost(const OpCall& c) {
  double n = 0;
  for (const Tensor* t : c.in) n = std::max(n, static_cast<double>(t->numel()));
  for (const Tensor* t : c.out) n = std::max(n, static_cast<double>(t->numel()));
  return {n, opcheck::bytes_of(c)};
}

}  // namespace

const OpDesc opdesc::sample("sample", {"x"}, {writes("idx"), writes("val")}, validate_sample, cost);
const OpDesc opdesc::kth_magnitude("kth_magnitude", {"x"}, {writes("t")}, validate_kth, cost);
const OpDesc opdesc::compact("compact", {"x", "t"}, {writes("idx"), writes("val"), writes("count")}, validate_compact, cost);
const OpDesc opdesc::scatter_add("scatter_add", {"idx", "val"}, {updates("y")}, validate_scatter_add, cost);
const OpDesc opdesc::random_fill("random_fill", {}, {writes("y")}, validate_fill, cost);

void ops::sample(Stream& s, const Tensor& x, const Tensor& idx, const Tensor& val, const SampleParams& p) {
  dispatch(s, opdesc::sample, {&x}, {&idx, &val}, &p);
}
void ops::kth_magnitude(Stream& s, const Tensor& x, const Tensor& t, const SelectParams& p) {
  dispatch(s, opdesc::kth_magnitude, {&x}, {&t}, &p);
}
void ops::compact(Stream& s, const Tensor& x, const Tensor& t, const Tensor& idx, const Tensor& val,
                  const Tensor& count, const CompactParams& p) {
  dispatch(s, opdesc::compact, {&x, &t}, {&idx, &val, &count}, &p);
}
void ops::scatter_add(Stream& s, const Tensor& idx, const Tensor& val, const Tensor& y) {
  dispatch(s, opdesc::scatter_add, {&idx, &val}, {&y});
}
void ops::random_fill(Stream& s, const Tensor& y, const RandomFillParams& p) {
  dispatch(s, opdesc::random_fill, {}, {&y}, &p);
}

}  // namespace tandem
