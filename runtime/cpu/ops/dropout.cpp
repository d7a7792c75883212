// Dropout, forward and backward alike: out[i] = in[i]·scale where random_uniform(key, i) ≥ p,
// else 0, one Philox block per four consecutive elements (numeric::RandomWords).
#include "../kernels.h"
#include "tandem/numeric/philox.h"

namespace tandem::cpu {
namespace {

void dropout(const OpCall& call) {
  const auto& p = call.param<DropoutParams>();
  const float* in = static_cast<const float*>(call.in[0]->data());
  float* out = static_cast<float*>(call.out[0]->data());
  // 1/(1 − p) in f32, as every backend computes it; p = 1 keeps nothing, so the scale is unused.
  const float scale = p.p < 1.0f ? 1.0f / (1.0f - p.p) : 0.0f;
  for_blocks(call.in[0]->numel(), [&](int64_t first, int64_t count) {
    numeric::RandomWords words(p.key);
    for (int64_t i = first; i < first + count; ++i)  // out may be in: each element read, then written
      out[i] = numeric::uniform_from(words(static_cast<uint64_t>(i))) >= p.p ? in[i] * scale : 0.0f;
  });
}

}  // namespace

TANDEM_KERNEL(cpu_kernels, dropout_forward, dropout);
TANDEM_KERNEL(cpu_kernels, dropout_backward, dropout);

}  // namespace tandem::cpu
