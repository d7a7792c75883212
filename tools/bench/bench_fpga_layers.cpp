// The CNN's forward layers and the codec primitives on the CPU (measured: median of repeats) and
// on fpga-sim (modeled by the performance model — labeled so in every row), with the largest
// difference between the two devices' outputs. Prints a markdown table; --json FILE writes it
// for scripts.
//   bench_fpga_layers [--json FILE] [--repeats N]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/cnn_layers.h"
#include "bench/workloads.h"
#include "tandem/ops.h"

using namespace tandem;

namespace {

struct Row {
  std::string layer;
  double cpu_ms = 0, fpga_ms = 0, flops = 0, max_abs_diff = 0;
};

// One op on a device: `make` uploads its inputs there and returns the thunk that runs it and the
// output to compare.
using Make = std::function<std::pair<std::function<void(Stream&)>, Tensor>(const Device&)>;

double median_ms(const Device& d, const std::function<void(Stream&)>& run, int repeats) {
  Stream s(d);
  run(s);  // warm-up
  s.synchronize();
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    run(s);
    s.synchronize();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return t[t.size() / 2];
}

Row measure(const std::string& name, double flops, const Make& make, const Device& fpga, int repeats) {
  Row r{name, 0, 0, flops, 0};
  r.cpu_ms = median_ms(cpu_device(), make(cpu_device()).first, repeats);
  auto [cpu_run, cpu_out] = make(cpu_device());  // fresh inputs: one run each, then compared
  Stream cs(cpu_device());
  cpu_run(cs);
  auto [fpga_run, fpga_out] = make(fpga);
  Stream s(fpga);
  const double before = fpga.modeled_seconds();
  fpga_run(s);  // the model's time for one run, copies excluded (inputs already on the card)
  r.fpga_ms = (fpga.modeled_seconds() - before) * 1e3;
  const auto values = [](const Tensor& t) {  // i8 levels compared as numbers
    if (t.dtype() != DType::i8) return t.to_f32();
    const std::vector<int8_t> q = t.to_vector<int8_t>();
    return std::vector<float>(q.begin(), q.end());
  };
  const std::vector<float> a = values(cpu_out), b = values(fpga_out);
  for (size_t i = 0; i < a.size(); ++i) r.max_abs_diff = std::max(r.max_abs_diff, double(std::fabs(a[i] - b[i])));
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path;
  int repeats = 7;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json") && i + 1 < argc) {
      json_path = argv[++i];
    } else if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc) {
      repeats = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: bench_fpga_layers [--json FILE] [--repeats N]\n");
      return 2;
    }
  }
  Device fpga;
  for (const Device& d : devices())
    if (d.kind() == DeviceKind::fpga_sim && !fpga) fpga = d;
  if (!fpga) {
    std::fprintf(stderr, "no fpga-sim device (TANDEM_FPGA_SIM=none?)\n");
    return 1;
  }
  std::vector<Row> rows;
  for (const bench::ConvLayer& l : bench::cnn_conv_layers)
    rows.push_back(measure(
        std::string(l.name) + " forward", bench::conv_flops(l),
        [&](const Device& d) {
          auto w = std::make_shared<bench::ConvWorkload>(d, l);
          return std::pair{std::function<void(Stream&)>([w](Stream& s) { w->run(s, bench::forward); }), w->y};
        },
        fpga, repeats));
  for (auto [name, m, n, k] : {std::tuple{"fc1 1568→128", 64, 128, 1568}, std::tuple{"fc2 128→10", 64, 10, 128}})
    rows.push_back(measure(
        name, 2.0 * m * n * k,
        [&](const Device& d) {
          Tensor a = bench::random_tensor(d, {m, k}, 3), b = bench::random_tensor(d, {k, n}, 4),
                 c = Tensor::empty(d, {m, n});
          return std::pair{std::function<void(Stream&)>([=](Stream& s) { ops::gemm(s, a, b, c); }), c};
        },
        fpga, repeats));
  const int64_t g = 1 << 22;  // a 4M-float gradient
  rows.push_back(measure(
      "quantize int8 (4M floats)", 3.0 * g,
      [&](const Device& d) {
        Tensor x = bench::random_tensor(d, {g}, 5), unit = Tensor::empty(d, {g / 256}),
               q = Tensor::empty(d, {g}, DType::i8);
        return std::pair{std::function<void(Stream&)>([=](Stream& s) {
                           ops::quantize(s, x, unit, q, {256, 127, QuantScale::absmax, true, {1, 2, 0, 0}});
                         }),
                         q};
      },
      fpga, repeats));
  rows.push_back(measure(
      "accumulate (4M floats)", 2.0 * g,
      [&](const Device& d) {
        Tensor x = bench::random_tensor(d, {g}, 6), y = bench::random_tensor(d, {g}, 7);
        return std::pair{std::function<void(Stream&)>([=](Stream& s) { ops::axpy(s, 0.5f, x, y); }), y};
      },
      fpga, repeats));

  std::printf(
      "| layer / primitive | cpu:0 ms (measured) | %s ms (modeled) | fpga / cpu time | cpu GFLOP/s | fpga GFLOP/s "
      "(modeled) | max |cpu − fpga| |\n",
      fpga.id().c_str());
  std::printf("|---|---|---|---|---|---|---|\n");
  nlohmann::json out = nlohmann::json::array();
  for (const Row& r : rows) {
    std::printf("| %s | %.3f | %.3f | %.2f | %.2f | %.2f | %.2g |\n", r.layer.c_str(), r.cpu_ms, r.fpga_ms,
                r.fpga_ms / r.cpu_ms, r.flops / r.cpu_ms / 1e6, r.flops / r.fpga_ms / 1e6, r.max_abs_diff);
    out.push_back({{"layer", r.layer},
                   {"cpu_ms", r.cpu_ms},
                   {"cpu_timing", "measured"},
                   {"fpga_ms", r.fpga_ms},
                   {"fpga_timing", "modeled"},
                   {"fpga_device", fpga.props().name},
                   {"flops", r.flops},
                   {"max_abs_diff", r.max_abs_diff}});
  }
  if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
  return 0;
}
