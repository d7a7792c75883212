// Host side of permute and copy_region (layout.cl): one work-item per element moved, the kernel
// chosen by element size (1, 2 or 4 bytes).
#include <string>

#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

using u64 = cl_ulong;

// "permute_u8", "copy_region_u32", …: the kernel moving elements of t's size.
std::string sized(const char* op, const Tensor& t) { return op + ("_u" + std::to_string(8 * dtype_size(t.dtype()))); }

void permute(const OpCall& c) {
  const Tensor &x = *c.in[0], &y = *c.out[0];
  const auto& p = c.param<PermuteParams>();
  const int rank = x.shape().rank();
  // Row-major strides of x, then taken in y's order: y's dimension i is x's perm[i].
  std::array<int64_t, Shape::max_rank> xs{}, st{}, dims{};
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; --i) xs[static_cast<size_t>(i)] = s, s *= x.shape()[i];
  for (int i = 0; i < rank; ++i) {
    st[static_cast<size_t>(i)] = xs[static_cast<size_t>(p.perm[static_cast<size_t>(i)])];
    dims[static_cast<size_t>(i)] = y.shape()[i];
  }
  Launch(c, "layout", sized("permute", x).c_str())
      .arg(x)
      .arg(y)
      .scalar<cl_int>(rank)
      .dims(dims)
      .dims(st)
      .scalar<u64>(n_of(y))
      .run({n_of(y)});
}
TANDEM_KERNEL(opencl_kernels, permute, permute);

// The region is [outer][length·inner] runs: a run's elements are contiguous in both tensors.
void copy_region(const OpCall& c) {
  const Tensor &src = *c.in[0], &dst = *c.out[0];
  const auto& p = c.param<RegionParams>();
  const AxisSplit s = split_at(src.shape(), p.axis), d = split_at(dst.shape(), p.axis);
  const auto run = static_cast<u64>(p.length * s.inner), n = static_cast<u64>(s.outer) * run;
  Launch(c, "layout", sized("copy_region", src).c_str())
      .arg(src)
      .arg(dst)
      .scalar(n)
      .scalar(run)
      .scalar<u64>(p.src_offset * s.inner)
      .scalar<u64>(s.n * s.inner)
      .scalar<u64>(p.dst_offset * d.inner)
      .scalar<u64>(d.n * d.inner)
      .run({n});
}
TANDEM_KERNEL(opencl_kernels, copy_region, copy_region);

}  // namespace
}  // namespace tandem::opencl
