// Inputs and baselines shared by `tandem bench` and the Google Benchmark programs (no
// dependency on Google Benchmark, so the CLI can use it too).
#pragma once

#include <cblas.h>

#include <random>
#include <vector>

#include "tandem/tensor.h"

namespace tandem::bench {

/// Uniform values in [−1, 1) from a seeded generator.
inline Tensor random_tensor(const Device& d, const Shape& s, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(s.numel()));
  for (float& x : v) x = u(rng);
  return Tensor::from_vector(d, s, v);
}

/// c = a·b for square f32 host-accessible matrices, OpenBLAS called directly: the baseline.
inline void sgemm_direct(const Tensor& a, const Tensor& b, const Tensor& c) {
  const int n = static_cast<int>(a.shape()[0]);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, static_cast<const float*>(a.data()), n,
              static_cast<const float*>(b.data()), n, 0.0f, static_cast<float*>(c.data()), n);
}

}  // namespace tandem::bench
