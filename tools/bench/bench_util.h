// Helpers shared by the Google Benchmark programs.
#pragma once

#include <benchmark/benchmark.h>

#include "bench/paired.h"
#include "bench/workloads.h"
#include "tandem/tensor.h"

namespace tandem::bench {

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
