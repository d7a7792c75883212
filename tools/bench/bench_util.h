// Helpers shared by the Google Benchmark programs.
#pragma once

#include <benchmark/benchmark.h>

#include "bench/paired.h"
#include "bench/workloads.h"
#include "tandem/blas.h"
#include "tandem/tensor.h"

namespace tandem::bench {

/// Every program's JSON and console header name the BLAS kernel set that ran (and the
/// OPENBLAS_CORETYPE override, if any): a ratio against OpenBLAS means nothing without it.
inline const bool blas_context_recorded = [] {
  const BlasKernels& b = blas_kernels();
  benchmark::AddCustomContext("blas_kernels", b.kernels + " (" + b.isa + "; the CPU has " + b.cpu_isa + ")");
  benchmark::AddCustomContext("openblas_coretype", b.coretype.empty() ? "unset" : b.coretype);
  return true;
}();

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
