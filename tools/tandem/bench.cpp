// tandem bench: a quick CPU benchmark — GEMM through the runtime against OpenBLAS called
// directly in the same run, and the benchmark CNN's convolutions forward + backward.
// The Google Benchmark programs in tools/bench/ are the thorough version.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "bench/cnn_layers.h"
#include "commands.h"
#include "table.h"
#include "tandem/file.h"
#include "tandem/ops.h"

namespace tandem::cli {
namespace {

// Median seconds per call over `repeats` timed runs after one warm-up.
double median_seconds(int repeats, const std::function<void()>& f) {
  f();
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return t[t.size() / 2];
}

Tensor random_tensor(const Device& d, const Shape& s, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(s.numel()));
  for (float& x : v) x = u(rng);
  return Tensor::from_vector(d, s, v);
}

int repeats_for(double flops) { return std::clamp(static_cast<int>(2e10 / std::max(flops, 1.0)), 3, 50); }

nlohmann::json run(bool quiet) {
  const Device cpu = cpu_device();
  Stream s(cpu);
  std::mt19937 rng(42);
  nlohmann::json results;

  Table gemm({"gemm M=N=K", "runtime GFLOP/s", "OpenBLAS GFLOP/s", "ratio"});
  for (int64_t n : {256, 512, 1024}) {
    if (!quiet) std::fprintf(stderr, "  gemm %lld...\r", static_cast<long long>(n));
    Tensor a = random_tensor(cpu, {n, n}, rng), b = random_tensor(cpu, {n, n}, rng), c = Tensor::empty(cpu, {n, n});
    const double flops = 2.0 * static_cast<double>(n * n * n);
    const int reps = repeats_for(flops);
    const double rt = median_seconds(reps, [&] { ops::gemm(s, a, b, c); });
    const int ni = static_cast<int>(n);
    const double direct = median_seconds(reps, [&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0f, static_cast<const float*>(a.data()), ni,
                  static_cast<const float*>(b.data()), ni, 0.0f, static_cast<float*>(c.data()), ni);
    });
    gemm.add({std::to_string(n), fmt("%.1f", flops / rt / 1e9), fmt("%.1f", flops / direct / 1e9),
              fmt("%.3f", direct / rt)});
    results["gemm"].push_back({{"n", n},
                               {"runtime_gflops", flops / rt / 1e9},
                               {"openblas_gflops", flops / direct / 1e9},
                               {"ratio", direct / rt},
                               {"timing", "measured"}});
  }

  Table conv({"conv layer (batch 64)", "fwd GFLOP/s", "bwd-data GFLOP/s", "bwd-weights GFLOP/s", "fwd+bwd GFLOP/s"});
  for (const auto& l : bench::cnn_conv_layers) {
    if (!quiet) std::fprintf(stderr, "  %s...\r", l.name);
    const Conv2dParams p{1, 1, l.pad, l.pad};
    const int64_t oh = window_out(l.h, l.r, 1, l.pad), ow = window_out(l.w, l.s, 1, l.pad);
    Tensor x = random_tensor(cpu, {l.n, l.c, l.h, l.w}, rng), w = random_tensor(cpu, {l.k, l.c, l.r, l.s}, rng);
    Tensor y = Tensor::empty(cpu, {l.n, l.k, oh, ow}), dy = random_tensor(cpu, {l.n, l.k, oh, ow}, rng);
    Tensor dx = Tensor::empty(cpu, x.shape()), dw = Tensor::empty(cpu, w.shape());
    const double flops = bench::conv_flops(l);
    const int reps = repeats_for(flops);
    const double f = median_seconds(reps, [&] { ops::conv2d_forward(s, x, w, y, p); });
    const double bd = median_seconds(reps, [&] { ops::conv2d_backward_data(s, dy, w, dx, p); });
    const double bw = median_seconds(reps, [&] { ops::conv2d_backward_weights(s, x, dy, dw, p); });
    conv.add({l.name, fmt("%.1f", flops / f / 1e9), fmt("%.1f", flops / bd / 1e9), fmt("%.1f", flops / bw / 1e9),
              fmt("%.1f", 3 * flops / (f + bd + bw) / 1e9)});
    results["conv"].push_back({{"layer", l.name},
                               {"forward_gflops", flops / f / 1e9},
                               {"backward_data_gflops", flops / bd / 1e9},
                               {"backward_weights_gflops", flops / bw / 1e9},
                               {"fwd_bwd_gflops", 3 * flops / (f + bd + bw) / 1e9},
                               {"timing", "measured"}});
  }
  if (!quiet) {
    std::fprintf(stderr, "\r\033[K");
    std::printf("CPU benchmark on %s (%d threads), median of repeats, measured\n\n", cpu.props().name.c_str(),
                cpu.props().compute_units);
    gemm.print();
    std::printf("\n");
    conv.print();
  }
  return results;
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Quick CPU benchmark: GEMM vs OpenBLAS, the CNN's convolutions");
  auto json = std::make_shared<std::string>();
  cmd->add_option("--json", *json, "also write the results as JSON to this file");
  cmd->callback([json] {
    const nlohmann::json r = run(false);
    if (!json->empty()) write_file_atomic(*json, r.dump(2) + "\n");
  });
}

}  // namespace tandem::cli
