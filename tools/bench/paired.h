// Paired timing: our call and its baseline alternate call by call, so both see the same
// machine state. On this VM the speed drifts by tens of percent over seconds, which makes
// ratios of separately timed runs meaningless. Used by `tandem bench` and tools/bench/.
#pragma once

#include <chrono>

namespace tandem::bench {

/// Seconds one call of f takes.
template <class F>
double seconds(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Accumulated seconds of our calls and the baseline's, one pair per step().
struct PairedTimes {
  double ours = 0, base = 0;
  long steps = 0;

  template <class Ours, class Base>
  void step(Ours&& ours_f, Base&& base_f) {
    if (steps++ % 2 == 0) {  // alternate who goes first: neither always finds the caches warm
      ours += seconds(ours_f);
      base += seconds(base_f);
    } else {
      base += seconds(base_f);
      ours += seconds(ours_f);
    }
  }
  /// Rates in GFLOP/s given the FLOPs of one call of each, and ours / base.
  double ours_gflops(double flops) const { return flops * static_cast<double>(steps) / ours * 1e-9; }
  double base_gflops(double flops) const { return flops * static_cast<double>(steps) / base * 1e-9; }
  double ratio(double ours_flops, double base_flops) const { return ours_gflops(ours_flops) / base_gflops(base_flops); }
};

}  // namespace tandem::bench
