// Dropout, forward and backward alike: one thread per Philox block (four elements), drawing as
// the CPU does (tandem/numeric/philox.h compiled for the device). out[i] = in[i]·scale where the
// element's uniform ≥ p, else 0; out may be in.
#include "common.cuh"
#include "op.h"

namespace tandem::cuda {
namespace {

__global__ void dropout_kernel(const float* x, float* y, int64_t n, float drop, float scale, numeric::RandomKey key,
                               uint64_t blocks) {
  TANDEM_GRID_LOOP(t, static_cast<int64_t>(blocks)) {
    for_philox_block(key, n, static_cast<uint64_t>(t), [&](int64_t i, uint32_t word) {
      y[i] = numeric::uniform_from(word) >= drop ? __fmul_rn(x[i], scale) : 0.0f;
    });
  }
}

void dropout(const OpCall& c) {
  const Op op(c);
  const auto& p = c.param<DropoutParams>();
  const int64_t n = c.in[0]->numel();
  if (n == 0) return;
  const float scale = p.p < 1.0f ? 1.0f / (1.0f - p.p) : 0.0f;  // on the host, as the CPU computes it
  const uint64_t blocks = philox_blocks(p.key, n);
  dropout_kernel<<<op.grid(static_cast<int64_t>(blocks)), block_threads, 0, op.s()>>>(
      static_cast<const float*>(c.in[0]->data()), static_cast<float*>(c.out[0]->data()), n, p.p, scale, p.key, blocks);
  op.launched("dropout");
}

}  // namespace

TANDEM_KERNEL(cuda_kernels, dropout_forward, dropout);
TANDEM_KERNEL(cuda_kernels, dropout_backward, dropout);

}  // namespace tandem::cuda
