// Helpers shared by the Google Benchmark programs.
#pragma once

#include <benchmark/benchmark.h>

#include <random>

#include "bench/paired.h"
#include "tandem/tensor.h"

namespace tandem::bench {

inline Tensor random_tensor(const Device& d, const Shape& s, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(s.numel()));
  for (float& x : v) x = u(rng);
  return Tensor::from_vector(d, s, v);
}

/// Runs `ours` and `baseline` as pairs (see paired.h) for the benchmark's iterations and sets
/// counters ours_GFLOP/s, base_GFLOP/s (given the FLOPs of one call of each) and their ratio.
template <class Ours, class Base>
void paired(benchmark::State& state, double ours_flops, Ours ours, double base_flops, Base baseline) {
  PairedTimes t;
  for (auto _ : state) {
    t.step(ours, baseline);
    benchmark::ClobberMemory();
  }
  state.counters["ours_GFLOP/s"] = t.ours_gflops(ours_flops);
  state.counters["base_GFLOP/s"] = t.base_gflops(base_flops);
  state.counters["ratio"] = t.ratio(ours_flops, base_flops);
}

}  // namespace tandem::bench
