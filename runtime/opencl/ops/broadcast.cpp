// Host side of broadcast_binary and sum_to (broadcast.cl): one work-item per output element, the
// operands read through broadcast_strides. f32.
#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

using u64 = cl_ulong;

std::array<int64_t, Shape::max_rank> dims_of(const Shape& s) {
  std::array<int64_t, Shape::max_rank> d{};
  for (int i = 0; i < s.rank(); ++i) d[static_cast<size_t>(i)] = s[i];
  return d;
}

// The kernel switches on BinaryOp's codes.
static_assert(static_cast<int>(BinaryOp::add) == 0 && static_cast<int>(BinaryOp::sub) == 1 &&
              static_cast<int>(BinaryOp::mul) == 2);

void broadcast_binary(const OpCall& c) {
  const Tensor &a = *c.in[0], &b = *c.in[1], &out = *c.out[0];
  const Shape& to = out.shape();
  Launch(c, "broadcast", "broadcast_binary_f32")
      .arg(a)
      .arg(b)
      .arg(out)
      .scalar<cl_int>(to.rank())
      .dims(dims_of(to))
      .dims(broadcast_strides(a.shape(), to))
      .dims(broadcast_strides(b.shape(), to))
      .scalar<cl_int>(static_cast<cl_int>(c.param<BinaryParams>().op))
      .scalar<u64>(n_of(out))
      .run({n_of(out)});
}
TANDEM_KERNEL(opencl_kernels, broadcast_binary, broadcast_binary);

void sum_to(const OpCall& c) {
  const Tensor &x = *c.in[0], &y = *c.out[0];
  const Shape& from = x.shape();
  // Nothing summed is a copy, as on the CPU (a sum from 0 would turn −0 into +0).
  if (x.numel() == y.numel()) return cast_into(c, x, y);
  if (y.numel() == 0) return;
  std::array<int64_t, Shape::max_rank> xs{};  // x's row-major strides
  int64_t s = 1;
  for (int i = from.rank() - 1; i >= 0; --i) xs[static_cast<size_t>(i)] = s, s *= from[i];
  Launch(c, "broadcast", "sum_to_f32")
      .arg(x)
      .arg(y)
      .scalar<cl_int>(from.rank())
      .dims(dims_of(from))
      .dims(xs)
      .dims(broadcast_strides(y.shape(), from))
      .scalar<u64>(n_of(y))
      .scalar<u64>(n_of(x) / n_of(y))
      .run({n_of(y)});
}
TANDEM_KERNEL(opencl_kernels, sum_to, sum_to);

}  // namespace
}  // namespace tandem::opencl
