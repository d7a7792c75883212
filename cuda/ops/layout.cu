// permute and copy_region: data movement, bit for bit. permute walks y in order, a thread per
// element reading x through its strides in y's dimension order (merged where x is contiguous
// across them: a permutation that moves nothing is one device copy). copy_region copies its
// [outer] runs of length·inner elements, a thread per unit of the widest width (16, 8, 4, 2 or 1
// bytes) that the runs, their pitches and both base addresses are aligned to.
#include <cstdint>

#include "common.cuh"
#include "op.h"
#include "strided.cuh"

namespace tandem::cuda {
namespace {

template <class T, class I>
__global__ void permute_kernel(const T* x, T* y, StridedIndex<I, 1> index, int64_t n) {
  TANDEM_GRID_LOOP(e, n) {
    I off[1];
    index.offsets(static_cast<I>(e), off);
    y[e] = x[off[0]];
  }
}

template <class T>
void launch_permute(const Op& op, const Tensor& x, const Tensor& y, const StridedIndex<int64_t, 1>& index) {
  const int64_t n = y.numel();
  const auto* in = static_cast<const T*>(x.data());
  auto* out = static_cast<T*>(y.data());
  if (fits32(n))
    permute_kernel<T, uint32_t><<<op.grid(n), block_threads, 0, op.s()>>>(in, out, index.as<uint32_t>(), n);
  else
    permute_kernel<T, int64_t><<<op.grid(n), block_threads, 0, op.s()>>>(in, out, index, n);
  op.launched("permute");
}

// dst[o·dst_pitch + j] = src[o·src_pitch + j] for j < run, o < outer (in units of U).
template <class U>
__global__ void copy_runs_kernel(const U* src, U* dst, int64_t src_pitch, int64_t dst_pitch, int64_t run,
                                 int64_t total) {
  TANDEM_GRID_LOOP(e, total) {
    const int64_t o = chunk_of(e, run), j = e - o * run;
    dst[o * dst_pitch + j] = src[o * src_pitch + j];
  }
}

template <class U>
void launch_copy_runs(const Op& op, const char* src, char* dst, int64_t src_pitch, int64_t dst_pitch, int64_t run,
                      int64_t outer) {
  constexpr auto w = static_cast<int64_t>(sizeof(U));
  const int64_t total = outer * (run / w);
  copy_runs_kernel<U><<<op.grid(total), block_threads, 0, op.s()>>>(reinterpret_cast<const U*>(src),
                                                                    reinterpret_cast<U*>(dst), src_pitch / w,
                                                                    dst_pitch / w, run / w, total);
  op.launched("copy_region");
}

}  // namespace

void permute(const OpCall& c) {
  const Op op(c);
  const Tensor &x = *c.in[0], &y = *c.out[0];
  const auto& p = c.param<PermuteParams>();
  const int rank = x.shape().rank();
  if (y.numel() == 0) return;
  // x's row-major strides, then y's dimensions with the stride of the x dimension each one is.
  int64_t xs[Shape::max_rank]{};
  int64_t step = 1;
  for (int i = rank - 1; i >= 0; --i) xs[i] = step, step *= x.shape()[i];
  StridedIndex<int64_t, 1> index;
  for (int i = 0; i < rank; ++i) index.push(y.shape()[i], {xs[p.perm[static_cast<size_t>(i)]]});
  index = index.simplified();
  if (index.rank == 0 || (index.rank == 1 && index.stride[0][0] == 1)) {  // the order is unchanged
    TANDEM_OP_CHECK(op, cudaMemcpyAsync(y.data(), x.data(), y.nbytes(), cudaMemcpyDeviceToDevice, op.s()));
    return;
  }
  switch (dtype_size(x.dtype())) {
    case 1: launch_permute<uint8_t>(op, x, y, index); break;
    case 2: launch_permute<uint16_t>(op, x, y, index); break;
    default: launch_permute<uint32_t>(op, x, y, index); break;
  }
}
TANDEM_KERNEL(cuda_kernels, permute, permute);

// src and dst around the axis as [outer][n][inner] (the same outer and inner): run o of the
// region is length·inner elements at o·n_src·inner + src_offset·inner of src, and likewise in dst.
void copy_region(const OpCall& c) {
  const Op op(c);
  const Tensor &src = *c.in[0], &dst = *c.out[0];
  const auto& p = c.param<RegionParams>();
  const AxisSplit s = split_at(src.shape(), p.axis), d = split_at(dst.shape(), p.axis);
  const auto es = static_cast<int64_t>(dtype_size(src.dtype()));
  const int64_t run = p.length * s.inner * es, src_pitch = s.n * s.inner * es, dst_pitch = d.n * d.inner * es;
  if (s.outer == 0 || run == 0) return;
  const char* from = static_cast<const char*>(src.data()) + p.src_offset * s.inner * es;
  char* to = static_cast<char*>(dst.data()) + p.dst_offset * d.inner * es;
  // The widest unit dividing every size and address the copy steps by.
  const auto all = static_cast<uint64_t>(run) | static_cast<uint64_t>(src_pitch) | static_cast<uint64_t>(dst_pitch) |
                   reinterpret_cast<uintptr_t>(from) | reinterpret_cast<uintptr_t>(to);
  if (all % 16 == 0)
    launch_copy_runs<uint4>(op, from, to, src_pitch, dst_pitch, run, s.outer);
  else if (all % 8 == 0)
    launch_copy_runs<uint2>(op, from, to, src_pitch, dst_pitch, run, s.outer);
  else if (all % 4 == 0)
    launch_copy_runs<uint32_t>(op, from, to, src_pitch, dst_pitch, run, s.outer);
  else if (all % 2 == 0)
    launch_copy_runs<uint16_t>(op, from, to, src_pitch, dst_pitch, run, s.outer);
  else
    launch_copy_runs<uint8_t>(op, from, to, src_pitch, dst_pitch, run, s.outer);
}
TANDEM_KERNEL(cuda_kernels, copy_region, copy_region);

}  // namespace tandem::cuda
