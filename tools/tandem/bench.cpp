// tandem bench: a quick CPU benchmark. GEMM through the runtime against OpenBLAS called
// directly, and the benchmark CNN's convolutions (forward + backward) against an OpenBLAS
// sgemm at 1024×1024, each timed in alternating pairs (bench/paired.h). The Google Benchmark
// programs in tools/bench/ are the thorough version (tools/bench.sh).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "bench/cnn_layers.h"
#include "bench/paired.h"
#include "bench/workloads.h"
#include "commands.h"
#include "options.h"
#include "table.h"
#include "tandem/blas.h"
#include "tandem/file.h"
#include "tandem/ops.h"

namespace tandem::cli {
namespace {

// Pairs for about `budget` seconds (at least 3), after one warm-up pair.
template <class Ours, class Base>
bench::PairedTimes time_pairs(double budget, Ours&& ours, Base&& base) {
  bench::PairedTimes warm;
  warm.step(ours, base);
  bench::PairedTimes t;
  while (t.steps < 3 || (t.ours + t.base < budget && t.steps < 1000)) t.step(ours, base);
  return t;
}

// Progress on a terminal only: redirected output stays clean.
void progress(const char* what) {
  if (isatty(fileno(stderr))) std::fprintf(stderr, "\r\033[K  measuring %s...", what);
}

nlohmann::json run(double budget) {
  const Device cpu = cpu_device();
  Stream s(cpu);
  unsigned seed = 42;
  nlohmann::json results;

  Table gemm({"gemm M=N=K", "runtime GFLOP/s", "OpenBLAS GFLOP/s", "runtime/OpenBLAS"});
  for (int64_t n : {256, 512, 1024}) {
    const std::string what = "gemm " + std::to_string(n);
    progress(what.c_str());
    Tensor a = bench::random_tensor(cpu, {n, n}, seed++), b = bench::random_tensor(cpu, {n, n}, seed++),
           c = Tensor::empty(cpu, {n, n});
    const double flops = 2.0 * static_cast<double>(n * n * n);
    const auto t = time_pairs(
        budget, [&] { ops::gemm(s, a, b, c); }, [&] { bench::sgemm_direct(a, b, c); });
    gemm.add({std::to_string(n), fmt("%.1f", t.ours_gflops(flops)), fmt("%.1f", t.base_gflops(flops)),
              fmt("%.3f", t.ratio(flops, flops))});
    results["gemm"].push_back({{"n", n},
                               {"runtime_gflops", t.ours_gflops(flops)},
                               {"openblas_gflops", t.base_gflops(flops)},
                               {"ratio", t.ratio(flops, flops)},
                               {"pairs", t.steps},
                               {"timing", "measured"}});
  }

  const int64_t ref_n = 1024;
  const double ref_flops = 2.0 * static_cast<double>(ref_n * ref_n * ref_n);
  Tensor ra = bench::random_tensor(cpu, {ref_n, ref_n}, seed++), rb = bench::random_tensor(cpu, {ref_n, ref_n}, seed++);
  Tensor rc = Tensor::empty(cpu, {ref_n, ref_n});
  Table conv({"conv layer (batch 64), fwd+bwd", "GFLOP/s", "sgemm-1024 GFLOP/s", "share of sgemm"});
  for (const auto& l : bench::cnn_conv_layers) {
    progress(l.name);
    const bench::ConvWorkload work(cpu, l, seed);
    seed += 3;
    const double flops = 3 * bench::conv_flops(l);
    const auto t = time_pairs(
        budget, [&] { work.run(s, bench::all_passes); }, [&] { bench::sgemm_direct(ra, rb, rc); });
    conv.add({l.name, fmt("%.1f", t.ours_gflops(flops)), fmt("%.1f", t.base_gflops(ref_flops)),
              fmt("%.0f%%", 100 * t.ratio(flops, ref_flops))});
    results["conv"].push_back({{"layer", l.name},
                               {"fwd_bwd_gflops", t.ours_gflops(flops)},
                               {"sgemm1024_gflops", t.base_gflops(ref_flops)},
                               {"share_of_sgemm", t.ratio(flops, ref_flops)},
                               {"pairs", t.steps},
                               {"timing", "measured"}});
  }
  if (isatty(fileno(stderr))) std::fprintf(stderr, "\r\033[K");
  const BlasKernels& blas = blas_kernels();
  results["cpu"] = {{"name", cpu.props().name},  {"threads", cpu.props().compute_units},
                    {"blas", blas.library},       {"blas_kernels", blas.kernels},
                    {"blas_isa", blas.isa},       {"cpu_isa", blas.cpu_isa},
                    {"coretype_env", blas.coretype}};
  std::printf("CPU benchmark on %s (%d threads, OpenBLAS %s kernels%s); measured, our call and its baseline "
              "alternating\n\n",
              cpu.props().name.c_str(), cpu.props().compute_units, blas.kernels.c_str(),
              blas.coretype.empty() ? "" : (", OPENBLAS_CORETYPE=" + blas.coretype).c_str());
  if (blas.slower_than_cpu) std::printf("warning: %s\n\n", blas.warning().c_str());
  gemm.print();
  std::printf("\n");
  conv.print();
  return results;
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Quick CPU benchmark: GEMM vs OpenBLAS, the CNN's convolutions");
  auto json = std::make_shared<std::string>();
  auto budget = std::make_shared<double>(1.0);
  cmd->add_option("--json", *json, "also write the results as JSON to this file")->check(output_file());
  cmd->add_option("--seconds", *budget, "time budget per measurement (default 1)")->check(number({0, 3600, true}));
  cmd->callback([json, budget] {
    const nlohmann::json r = run(*budget);
    if (!json->empty()) write_file_atomic(*json, r.dump(2) + "\n");
  });
}

}  // namespace tandem::cli
