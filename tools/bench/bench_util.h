// Helpers shared by the Google Benchmark programs.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
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

/// Seconds one call of f takes.
template <class F>
double seconds(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Times `ours` against `baseline` call by call, alternating which goes first, so that both see
/// the same machine state: this VM's speed drifts by tens of percent over seconds, which makes
/// ratios of separately run benchmarks meaningless. Sets counters <name>_GFLOP/s for both
/// (given the FLOPs of one call of each) and ratio = ours' rate / baseline's rate.
template <class Ours, class Base>
void paired(benchmark::State& state, double ours_flops, Ours ours, double base_flops, Base baseline) {
  double t_ours = 0, t_base = 0;
  bool ours_first = true;
  for (auto _ : state) {
    if (ours_first) {
      t_ours += seconds(ours);
      t_base += seconds(baseline);
    } else {
      t_base += seconds(baseline);
      t_ours += seconds(ours);
    }
    ours_first = !ours_first;
    benchmark::ClobberMemory();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["ours_GFLOP/s"] = ours_flops * n / t_ours * 1e-9;
  state.counters["base_GFLOP/s"] = base_flops * n / t_base * 1e-9;
  state.counters["ratio"] = (ours_flops / t_ours) / (base_flops / t_base);
}

}  // namespace tandem::bench
