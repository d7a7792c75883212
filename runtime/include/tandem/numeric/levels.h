// The rounding arithmetic of quantization, shared by every device's kernels (CPU, HLS cores and
// CUDA kernels) so that the same inputs and key give bit-identical levels everywhere. Plain float
// operations in the default rounding mode, no library calls: they vectorize on the CPU and map to
// one adder and a few comparators in hardware.
#pragma once

#include <cstdint>

#include "tandem/numeric/host_device.h"

namespace tandem::numeric {

/// Round to nearest even: adding and subtracting 1.5·2²³ leaves the integer part, rounded in the
/// default rounding mode, exactly as nearbyint does for |v| < 2²². Quantized values are within
/// ±128.
TANDEM_HD inline float round_even(float v) {
  constexpr float magic = 12582912.0f;
  return (v + magic) - magic;
}

/// The level r of v = x / unit, clamped to ±top, NaN giving 0 — by selects, not branches.
TANDEM_HD inline int8_t clamp_level(float r, float v, float top) {
  r = r < -top ? -top : r;
  r = r > top ? top : r;
  r = v == v ? r : 0.0f;
  return static_cast<int8_t>(static_cast<int32_t>(r));
}

TANDEM_HD inline int8_t level_nearest(float v, float top) { return clamp_level(round_even(v), v, top); }

/// ⌊v⌋ + 1 with probability v − ⌊v⌋, given a uniform rnd in [0, 1): unbiased.
TANDEM_HD inline int8_t level_stochastic(float v, float rnd, float top) {
  const float near = round_even(v);
  const float lo = near - (near > v ? 1.0f : 0.0f);
  const float up = rnd < v - lo ? 1.0f : 0.0f;
  return clamp_level(lo + up, v, top);
}

}  // namespace tandem::numeric
