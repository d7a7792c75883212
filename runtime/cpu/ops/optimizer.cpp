// adam_update (ops.h): Adam's and AdamW's step, element by element in f32, each operation
// rounded as written (the other backends compute the same sequence).
#include <cmath>

#include "../kernels.h"

namespace tandem::cpu {
namespace {

void adam_update(const OpCall& call) {
  const auto& p = call.param<AdamParams>();
  const float* g = static_cast<const float*>(call.in[0]->data());
  float* w = static_cast<float*>(call.out[0]->data());
  float* m = static_cast<float*>(call.out[1]->data());
  float* v = static_cast<float*>(call.out[2]->data());
  for_blocks(call.in[0]->numel(), [&](int64_t first, int64_t count) {
    for (int64_t i = first; i < first + count; ++i) {
      float gi = g[i], wi = w[i];
      if (p.l2 != 0.0f) gi = gi + p.l2 * wi;
      if (p.decay != 1.0f) wi = wi * p.decay;
      const float mi = p.beta1 * m[i] + p.one_minus_beta1 * gi;
      const float vi = p.beta2 * v[i] + p.one_minus_beta2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      w[i] = wi - p.step_size * mi / (std::sqrt(vi) / p.bias2_sqrt + p.eps);
    }
  });
}

}  // namespace

TANDEM_KERNEL(cpu_kernels, adam_update, adam_update);

}  // namespace tandem::cpu
