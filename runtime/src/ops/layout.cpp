// Data movement within and between tensors: permute (transposes) and copy_region (slices and
// concatenations along an axis).
#include <string>

#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

void validate_permute(const OpCall& c) {
  const Tensor &x = *c.in[0], &y = *c.out[0];
  const auto& p = c.param<PermuteParams>();
  const int rank = x.shape().rank();
  opcheck::same_dtype(c, x, y);
  const size_t size = dtype_size(x.dtype());
  if (size != 1 && size != 2 && size != 4) c.fail(opcheck::describe(c, x) + ": elements of 1, 2 or 4 bytes only");
  opcheck::rank(c, y, rank);
  unsigned seen = 0;
  for (int i = 0; i < rank; ++i) {
    const int from = p.perm[static_cast<size_t>(i)];
    if (from < 0 || from >= rank || (seen & (1u << from)) != 0)
      c.fail("perm is not a permutation of the " + std::to_string(rank) + " dimensions of " + opcheck::describe(c, x));
    seen |= 1u << from;
    opcheck::dim(c, y, i, x.shape()[from], "a permuted dimension");
  }
}

void validate_region(const OpCall& c) {
  const Tensor &src = *c.in[0], &dst = *c.out[0];
  const auto& p = c.param<RegionParams>();
  opcheck::same_dtype(c, src, dst);
  if (src.dtype() != DType::f32 && src.dtype() != DType::i32 && src.dtype() != DType::u8)
    c.fail(opcheck::describe(c, src) + ": expected f32, i32 or u8");
  const int rank = src.shape().rank();
  opcheck::rank(c, dst, rank);
  if (p.axis < 0 || p.axis >= rank) c.fail(opcheck::describe(c, src) + ": no axis " + std::to_string(p.axis));
  for (int i = 0; i < rank; ++i)
    if (i != p.axis) opcheck::dim(c, dst, i, src.shape()[i], "a dimension beside the axis");
  const int64_t ns = src.shape()[p.axis], nd = dst.shape()[p.axis];
  if (p.length < 0 || p.src_offset < 0 || p.dst_offset < 0 || p.src_offset > ns - p.length ||
      p.dst_offset > nd - p.length)
    c.fail("the region of " + std::to_string(p.length) + " at " + std::to_string(p.src_offset) + " of " +
           opcheck::describe(c, src) + " to " + std::to_string(p.dst_offset) + " of " + opcheck::describe(c, dst) +
           " along axis " + std::to_string(p.axis) + " lies outside them");
}

OpCost cost(const OpCall& c) { return {0.0, opcheck::bytes_of(c)}; }

// Only the region is read and written.
OpCost cost_region(const OpCall& c) {
  const auto& p = c.param<RegionParams>();
  const Tensor& src = *c.in[0];
  const int64_t n = src.shape()[p.axis];
  const double bytes =
      n == 0 ? 0.0 : static_cast<double>(src.nbytes()) * static_cast<double>(p.length) / static_cast<double>(n);
  return {0.0, 2.0 * bytes};
}

}  // namespace

const OpDesc opdesc::permute("permute", {"x"}, {writes("y")}, validate_permute, cost);
const OpDesc opdesc::copy_region("copy_region", {"src"}, {updates("dst")}, validate_region, cost_region);

void ops::permute(Stream& s, const Tensor& x, const Tensor& y, const PermuteParams& p) {
  dispatch(s, opdesc::permute, {&x}, {&y}, &p);
}
void ops::copy_region(Stream& s, const Tensor& src, const Tensor& dst, const RegionParams& p) {
  dispatch(s, opdesc::copy_region, {&src}, {&dst}, &p);
}

}  // namespace tandem
