// broadcast_binary and sum_to, by coordinate through broadcast_strides (0 along the dimensions
// an operand is broadcast in), with the dimensions merged where every operand steps over them
// as over one (strided.cuh). broadcast_binary: a thread per element of c, bit for bit (one f32
// operation). sum_to: a thread per element of y, adding its inputs in x's index order from 0 as
// the CPU does — the same bits, no atomics.
#include <cstdint>

#include "common.cuh"
#include "op.h"
#include "strided.cuh"

namespace tandem::cuda {
namespace {

// c may be a or b (of c's shape): each element is read before it is written, by the same thread.
template <class I>
__global__ void broadcast_binary_kernel(const float* a, const float* b, float* c, StridedIndex<I, 2> index,
                                        BinaryOp op, int64_t n) {
  TANDEM_GRID_LOOP(e, n) {
    I off[2];
    index.offsets(static_cast<I>(e), off);
    const float x = a[off[0]], y = b[off[1]];
    c[e] = op == BinaryOp::add ? x + y : op == BinaryOp::sub ? x - y : x * y;
  }
}

// y[j] = Σ x over the reduced coordinates in row-major order (x's index order): `kept` maps j to
// its first element of x, `reduced` (rank ≥ 1) walks the rest — its last dimension the inner
// loop, the others an odometer, last fastest.
__global__ void sum_to_kernel(const float* x, float* y, StridedIndex<int64_t, 1> kept,
                              StridedIndex<int64_t, 1> reduced, int64_t m) {
  const int last = reduced.rank - 1;
  const int64_t inner = reduced.dim[last], step = reduced.stride[0][last];
  int64_t outer = 1;
  for (int k = 0; k < last; ++k) outer *= reduced.dim[k];
  TANDEM_GRID_LOOP(j, m) {
    int64_t off[1];
    kept.offsets(j, off);
    int64_t at = off[0], count[Shape::max_rank]{};
    float s = 0.0f;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t t = 0; t < inner; ++t) s += x[at + t * step];
      for (int k = last - 1; k >= 0; --k) {
        at += reduced.stride[0][k];
        if (++count[k] < reduced.dim[k]) break;
        at -= reduced.stride[0][k] * reduced.dim[k];
        count[k] = 0;
      }
    }
    y[j] = s;
  }
}

}  // namespace

void broadcast_binary(const OpCall& c) {
  const Op op(c);
  const Tensor &a = *c.in[0], &b = *c.in[1], &out = *c.out[0];
  const int64_t n = out.numel();
  if (n == 0) return;
  const auto sa = broadcast_strides(a.shape(), out.shape()), sb = broadcast_strides(b.shape(), out.shape());
  StridedIndex<int64_t, 2> index;
  for (int k = 0; k < out.shape().rank(); ++k)
    index.push(out.shape()[k], {sa[static_cast<size_t>(k)], sb[static_cast<size_t>(k)]});
  index = index.simplified();
  const BinaryOp binop = c.param<BinaryParams>().op;
  const auto *A = static_cast<const float*>(a.data()), *B = static_cast<const float*>(b.data());
  auto* C = static_cast<float*>(out.data());
  if (fits32(n))  // a and b have no more elements than c
    broadcast_binary_kernel<uint32_t><<<op.grid(n), block_threads, 0, op.s()>>>(A, B, C, index.as<uint32_t>(), binop, n);
  else
    broadcast_binary_kernel<int64_t><<<op.grid(n), block_threads, 0, op.s()>>>(A, B, C, index, binop, n);
  op.launched("broadcast_binary");
}
TANDEM_KERNEL(cuda_kernels, broadcast_binary, broadcast_binary);

void sum_to(const OpCall& c) {
  const Op op(c);
  const Tensor &x = *c.in[0], &y = *c.out[0];
  const int64_t n = x.numel(), m = y.numel();
  if (m == 0) return;
  if (n == m) {  // nothing to add (only dimensions of size 1 differ): a copy, as on the CPU
    TANDEM_OP_CHECK(op, cudaMemcpyAsync(y.data(), x.data(), y.nbytes(), cudaMemcpyDeviceToDevice, op.s()));
    return;
  }
  if (n == 0) {  // empty sums
    TANDEM_OP_CHECK(op, cudaMemsetAsync(y.data(), 0, y.nbytes(), op.s()));
    return;
  }
  // Each dimension of x, with its row-major stride, is kept (y has it) or reduced (y is broadcast
  // along it); y's elements are the kept coordinates in row-major order.
  const Shape& xs = x.shape();
  const auto sy = broadcast_strides(y.shape(), xs);
  int64_t stride[Shape::max_rank]{};
  int64_t step = 1;
  for (int k = xs.rank() - 1; k >= 0; --k) stride[k] = step, step *= xs[k];
  StridedIndex<int64_t, 1> kept, reduced;
  for (int k = 0; k < xs.rank(); ++k) (sy[static_cast<size_t>(k)] != 0 ? kept : reduced).push(xs[k], {stride[k]});
  kept = kept.simplified();
  reduced = reduced.simplified();
  if (reduced.rank == 0) reduced.push(1, {0});  // (n > m: not reached, but the kernel needs a dimension)
  sum_to_kernel<<<op.grid(m), block_threads, 0, op.s()>>>(static_cast<const float*>(x.data()),
                                                          static_cast<float*>(y.data()), kept, reduced, m);
  op.launched("sum_to");
}
TANDEM_KERNEL(cuda_kernels, sum_to, sum_to);

}  // namespace tandem::cuda
