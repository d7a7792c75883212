// Helpers shared by the Google Benchmark programs.
#pragma once

#include <random>

#include "tandem/tensor.h"

namespace tandem::bench {

inline Tensor random_tensor(const Device& d, const Shape& s, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(s.numel()));
  for (float& x : v) x = u(rng);
  return Tensor::from_vector(d, s, v);
}

}  // namespace tandem::bench
