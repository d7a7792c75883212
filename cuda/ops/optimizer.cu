// adam_update (ops.h): Adam's and AdamW's step, one thread per element in a grid-stride loop,
// with explicit _rn operations so that each rounds as on the CPU (no fused multiply-add).
#include "common.cuh"
#include "op.h"

namespace tandem::cuda {
namespace {

__global__ void adam_kernel(const float* g, float* w, float* m, float* v, int64_t n, AdamParams p) {
  TANDEM_GRID_LOOP(i, n) {
    float gi = g[i], wi = w[i];
    if (p.l2 != 0.0f) gi = __fadd_rn(gi, __fmul_rn(p.l2, wi));
    if (p.decay != 1.0f) wi = __fmul_rn(wi, p.decay);
    const float mi = __fadd_rn(__fmul_rn(p.beta1, m[i]), __fmul_rn(p.one_minus_beta1, gi));
    const float vi = __fadd_rn(__fmul_rn(p.beta2, v[i]), __fmul_rn(__fmul_rn(p.one_minus_beta2, gi), gi));
    m[i] = mi;
    v[i] = vi;
    const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), p.bias2_sqrt), p.eps);
    w[i] = __fsub_rn(wi, __fdiv_rn(__fmul_rn(p.step_size, mi), denom));
  }
}

void adam_update(const OpCall& c) {
  const Op op(c);
  const auto& p = c.param<AdamParams>();
  const int64_t n = c.in[0]->numel();
  if (n == 0) return;
  adam_kernel<<<op.grid(n), block_threads, 0, op.s()>>>(
      static_cast<const float*>(c.in[0]->data()), static_cast<float*>(c.out[0]->data()),
      static_cast<float*>(c.out[1]->data()), static_cast<float*>(c.out[2]->data()), n, p);
  op.launched("adam_update");
}

}  // namespace

TANDEM_KERNEL(cuda_kernels, adam_update, adam_update);

}  // namespace tandem::cuda
