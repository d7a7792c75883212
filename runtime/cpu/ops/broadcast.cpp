// Broadcast arithmetic and sum_to, by output coordinate: each operand is read through
// broadcast_strides (0 along its broadcast dimensions).
#include <vector>

#include "../kernels.h"

namespace tandem::cpu {
namespace {

// Offset, in `stride`, of element i of a row-major tensor with `to`'s dimensions.
int64_t offset_of(int64_t i, const Shape& to, const std::array<int64_t, Shape::max_rank>& stride) {
  int64_t off = 0;
  for (int k = to.rank() - 1; k >= 0; --k) {
    off += (i % to[k]) * stride[static_cast<size_t>(k)];
    i /= to[k];
  }
  return off;
}

}  // namespace

void broadcast_binary(const OpCall& call) {
  const Tensor &a = *call.in[0], &b = *call.in[1], &c = *call.out[0];
  const BinaryOp op = call.param<BinaryParams>().op;
  const auto sa = broadcast_strides(a.shape(), c.shape()), sb = broadcast_strides(b.shape(), c.shape());
  const auto *A = static_cast<const float*>(a.data()), *B = static_cast<const float*>(b.data());
  auto* C = static_cast<float*>(c.data());
  for_blocks(c.numel(), [&](int64_t first, int64_t count) {
    for (int64_t i = first; i < first + count; ++i) {
      const float x = A[offset_of(i, c.shape(), sa)], y = B[offset_of(i, c.shape(), sb)];
      C[i] = op == BinaryOp::add ? x + y : op == BinaryOp::sub ? x - y : x * y;
    }
  });
}
TANDEM_KERNEL(cpu_kernels, broadcast_binary, broadcast_binary);

// Each output element sums the input elements that broadcast from it, in the input's index order.
void sum_to(const OpCall& call) {
  const Tensor &x = *call.in[0], &y = *call.out[0];
  const auto sy = broadcast_strides(y.shape(), x.shape());
  const auto* X = static_cast<const float*>(x.data());
  auto* Y = static_cast<float*>(y.data());
  const int64_t n = x.numel(), m = y.numel();
  if (m == n) {
    std::copy(X, X + n, Y);
    return;
  }
  // The reduced (stride-0) and kept dimensions of x: element j of y is the sum over the reduced
  // coordinates, visited in x's order.
  std::vector<int64_t> to_y(static_cast<size_t>(n));
  for_blocks(n, [&](int64_t first, int64_t count) {
    for (int64_t i = first; i < first + count; ++i) to_y[static_cast<size_t>(i)] = offset_of(i, x.shape(), sy);
  });
  std::fill(Y, Y + m, 0.0f);
  for (int64_t i = 0; i < n; ++i) Y[to_y[static_cast<size_t>(i)]] += X[i];
}
TANDEM_KERNEL(cpu_kernels, sum_to, sum_to);

}  // namespace tandem::cpu
