// Compress + decompress of a 25M-float gradient through each codec, against memcpy of the same
// 100 MB buffer, interleaved call by call. Targets: ratio ≥ 0.5 for the streaming codecs
// (fp16, bf16, int8, sign, QSGD, TernGrad), ≥ 0.25 for sampled top-k.
#include <cstring>
#include <random>

#include "bench/bench_util.h"
#include "tandem/compression/codec.h"

namespace {

using namespace tandem;

constexpr int64_t elements = 25'000'000;

// A gradient-like tensor: normal values (what the sparse codecs' thresholds see in training).
const Tensor& gradient() {
  static const Tensor g = [] {
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.0f, 0.01f);
    std::vector<float> v(static_cast<size_t>(elements));
    for (float& x : v) x = normal(rng);
    return Tensor::from_vector(cpu_device(), {elements}, v);
  }();
  return g;
}

void BM_codec(benchmark::State& state, const std::string& name) {
  const Device cpu = cpu_device();
  Stream s(cpu);
  // PowerSGD compresses matrices: the same values as a 5000 × 5000 weight gradient.
  const Tensor g = name.starts_with("powersgd") ? gradient().reshape({5000, 5000}) : gradient();
  Tensor out = Tensor::zeros(cpu, {elements}), copy = Tensor::zeros(cpu, {elements});
  compression::GradientCodec codec(compression::parse_codec(name));
  size_t message = 0;
  uint32_t step = 0;
  bench::PairedTimes t;
  for (auto _ : state) {
    t.step(
        [&] {
          const auto m = codec.compress(s, g, {1, step++, 0});
          message = m.size();
          codec.decompress(s, m, out);
        },
        [&] { std::memcpy(copy.data(), g.data(), g.nbytes()); });
    benchmark::ClobberMemory();
  }
  const double bytes = static_cast<double>(g.nbytes()) * static_cast<double>(t.steps);
  state.counters["ours_GB/s"] = bytes / t.ours * 1e-9;
  state.counters["memcpy_GB/s"] = bytes / t.base * 1e-9;
  state.counters["ratio"] = t.base / t.ours;
  state.counters["compression"] = static_cast<double>(g.nbytes()) / static_cast<double>(message);
}

}  // namespace

int main(int argc, char** argv) {
  for (const char* name : {"none", "fp16", "bf16", "int8", "qsgd:4", "qsgd:127", "terngrad", "sign", "randomk:0.01",
                           "topk:0.01", "topk_sampled:0.01", "topk_sampled:0.001", "powersgd:4"})
    benchmark::RegisterBenchmark(("BM_codec/" + std::string(name)).c_str(), BM_codec, std::string(name))
        ->Unit(benchmark::kMillisecond)
        ->MinTime(1.0);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
