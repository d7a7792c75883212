// permute and copy_region: data movement, by element size (a permute) or as contiguous runs
// (a region is [outer][length·inner] runs).
#include <cstring>

#include "../kernels.h"

namespace tandem::cpu {
namespace {

template <class T>
void permute_as(const Tensor& x, const Tensor& y, const PermuteParams& p) {
  const int rank = x.shape().rank();
  // Strides of x in y's dimension order: y[i0..] = x[Σ i_k · xstride[perm[k]]].
  std::array<int64_t, Shape::max_rank> xs{}, st{}, dims{};
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; --i) xs[static_cast<size_t>(i)] = s, s *= x.shape()[i];
  for (int i = 0; i < rank; ++i)
    st[static_cast<size_t>(i)] = xs[static_cast<size_t>(p.perm[static_cast<size_t>(i)])],
    dims[static_cast<size_t>(i)] = y.shape()[i];
  const T* X = static_cast<const T*>(x.data());
  T* Y = static_cast<T*>(y.data());
  const int64_t inner = rank == 0 ? 1 : dims[static_cast<size_t>(rank - 1)];
  const int64_t lines = inner == 0 ? 0 : y.numel() / inner, step = rank == 0 ? 0 : st[static_cast<size_t>(rank - 1)];
  parallel_for(lines, y.numel(), [&](int64_t line) {
    int64_t rest = line, off = 0;
    for (int k = rank - 2; k >= 0; --k) {
      off += (rest % dims[static_cast<size_t>(k)]) * st[static_cast<size_t>(k)];
      rest /= dims[static_cast<size_t>(k)];
    }
    T* out = Y + line * inner;
    for (int64_t j = 0; j < inner; ++j) out[j] = X[off + j * step];
  });
}

}  // namespace

void permute(const OpCall& call) {
  const Tensor &x = *call.in[0], &y = *call.out[0];
  const auto& p = call.param<PermuteParams>();
  switch (dtype_size(x.dtype())) {
    case 1:
      permute_as<uint8_t>(x, y, p);
      break;
    case 2:
      permute_as<uint16_t>(x, y, p);
      break;
    default:
      permute_as<uint32_t>(x, y, p);
      break;
  }
}
TANDEM_KERNEL(cpu_kernels, permute, permute);

void copy_region(const OpCall& call) {
  const Tensor &src = *call.in[0], &dst = *call.out[0];
  const auto& p = call.param<RegionParams>();
  const AxisSplit s = split_at(src.shape(), p.axis), d = split_at(dst.shape(), p.axis);
  const int64_t es = static_cast<int64_t>(dtype_size(src.dtype())), run = p.length * s.inner * es;
  const auto* S = static_cast<const char*>(src.data()) + p.src_offset * s.inner * es;
  auto* D = static_cast<char*>(dst.data()) + p.dst_offset * d.inner * es;
  parallel_for(s.outer, s.outer * p.length * s.inner, [&](int64_t o) {
    std::memcpy(D + o * d.n * d.inner * es, S + o * s.n * s.inner * es, static_cast<size_t>(run));
  });
}
TANDEM_KERNEL(cpu_kernels, copy_region, copy_region);

}  // namespace tandem::cpu
