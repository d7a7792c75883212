// Orthonormalization (PowerSGD's P): modified Gram–Schmidt over the columns of a row-major
// [m, r] matrix, twice, as on the CPU — one block walking the columns in order, each dot product
// a block-wide sum in double (a tree, so within rounding of the CPU's sequential sum).
#include "common.cuh"
#include "op.h"

namespace tandem::cuda {
namespace {

constexpr int lowrank_threads = 1024;

// Every thread owns the same rows (row ≡ threadIdx.x mod blockDim.x) throughout, so updates of a
// column need no barrier before the next dot product reads it; block_sum has its own barriers.
__global__ void __launch_bounds__(lowrank_threads) orthonormalize_kernel(float* p, int64_t m, int64_t r) {
  auto dot = [&](int64_t i, int64_t j) {
    double s = 0;
    for (int64_t row = threadIdx.x; row < m; row += blockDim.x) s += double(p[row * r + i]) * double(p[row * r + j]);
    return block_sum(s);
  };
  for (int64_t j = 0; j < r; ++j) {
    const double before = sqrt(dot(j, j));
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t i = 0; i < j; ++i) {
        const double d = dot(i, j);
        for (int64_t row = threadIdx.x; row < m; row += blockDim.x)
          p[row * r + j] = __fsub_rn(p[row * r + j], static_cast<float>(d * double(p[row * r + i])));
      }
    const double after = sqrt(dot(j, j));
    // What is left of a column in the span of the earlier ones is rounding noise: it becomes zero.
    const double inv = after > 1e-5 * before && after > 0 ? 1.0 / after : 0.0;
    for (int64_t row = threadIdx.x; row < m; row += blockDim.x)
      p[row * r + j] = static_cast<float>(double(p[row * r + j]) * inv);
  }
}

}  // namespace

void orthonormalize(const OpCall& c) {
  const Op op(c);
  const Tensor& a = *c.out[0];
  if (a.numel() == 0) return;
  orthonormalize_kernel<<<1, lowrank_threads, 0, op.s()>>>(static_cast<float*>(a.data()), a.shape()[0], a.shape()[1]);
  op.launched("orthonormalize");
}
TANDEM_KERNEL(cuda_kernels, orthonormalize, orthonormalize);

}  // namespace tandem::cuda
