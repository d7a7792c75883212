// Conv2d passes for the benchmark CNN's layers (batch 64), each interleaved call by call with
// an OpenBLAS sgemm at 1024×1024, so the share of the sgemm rate is measured under the same
// machine state. Target: the 16→32 layer's forward+backward ≥ 40% of the sgemm rate.
#include "bench/bench_util.h"
#include "bench/cnn_layers.h"
#include "tandem/ops.h"

namespace {

using namespace tandem;

const char* pass_name(int pass) {
  switch (pass) {
    case bench::forward:
      return "fwd";
    case bench::backward_data:
      return "bwd-data";
    case bench::backward_weights:
      return "bwd-weights";
    default:
      return "fwd+bwd";
  }
}

void BM_conv(benchmark::State& state) {
  const auto& l = bench::cnn_conv_layers[static_cast<size_t>(state.range(0))];
  const int pass = static_cast<int>(state.range(1));
  const Device cpu = cpu_device();
  Stream s(cpu);
  const bench::ConvWorkload conv(cpu, l);
  const int n = 1024;
  Tensor a = bench::random_tensor(cpu, {n, n}, 4), b = bench::random_tensor(cpu, {n, n}, 5),
         c = Tensor::empty(cpu, {n, n});
  int passes = 0;
  for (int bit = 1; bit <= 4; bit <<= 1) passes += (pass & bit) ? 1 : 0;
  bench::paired(
      state, passes * bench::conv_flops(l), [&] { conv.run(s, pass); }, 2.0 * n * n * n,
      [&] { bench::sgemm_direct(a, b, c); });
  state.SetLabel(std::string(l.name) + " " + pass_name(pass));
}
BENCHMARK(BM_conv)->ArgsProduct({{0, 1},
                                 {bench::forward, bench::backward_data, bench::backward_weights, bench::all_passes}});

}  // namespace

BENCHMARK_MAIN();
