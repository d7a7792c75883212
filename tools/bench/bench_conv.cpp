// Conv2d forward + backward for the benchmark CNN's layers (batch 64), as GFLOP/s and as a
// share of the OpenBLAS sgemm rate at 1024×1024 measured in the same run.
// Target: the 16→32 layer's forward+backward ≥ 40% of that rate.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include "bench/bench_util.h"
#include "bench/cnn_layers.h"
#include "tandem/ops.h"

namespace {

using namespace tandem;

void BM_sgemm1024_reference(benchmark::State& state) {
  const int n = 1024;
  Tensor a = bench::random_tensor(cpu_device(), {n, n}, 1), b = bench::random_tensor(cpu_device(), {n, n}, 2);
  Tensor c = Tensor::empty(cpu_device(), {n, n});
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.host_data<float>(), n,
                b.host_data<float>(), n, 0.0f, c.host_data<float>(), n);
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * n * n * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_sgemm1024_reference)->UseRealTime();

enum Pass { forward = 1, backward_data = 2, backward_weights = 4, all = 7 };

void BM_conv(benchmark::State& state) {
  const auto& l = bench::cnn_conv_layers[static_cast<size_t>(state.range(0))];
  const int pass = static_cast<int>(state.range(1));
  const Device cpu = cpu_device();
  Stream s(cpu);
  const Conv2dParams p{1, 1, l.pad, l.pad};
  const int64_t oh = window_out(l.h, l.r, 1, l.pad), ow = window_out(l.w, l.s, 1, l.pad);
  Tensor x = bench::random_tensor(cpu, {l.n, l.c, l.h, l.w}, 1), w = bench::random_tensor(cpu, {l.k, l.c, l.r, l.s}, 2);
  Tensor dy = bench::random_tensor(cpu, {l.n, l.k, oh, ow}, 3), y = Tensor::empty(cpu, dy.shape());
  Tensor dx = Tensor::empty(cpu, x.shape()), dw = Tensor::empty(cpu, w.shape());
  int passes = 0;
  for (auto _ : state) {
    if (pass & forward) ops::conv2d_forward(s, x, w, y, p);
    if (pass & backward_data) ops::conv2d_backward_data(s, dy, w, dx, p);
    if (pass & backward_weights) ops::conv2d_backward_weights(s, x, dy, dw, p);
    benchmark::ClobberMemory();
  }
  for (int b = 1; b <= 4; b <<= 1) passes += (pass & b) ? 1 : 0;
  state.SetLabel(std::string(l.name) + (pass == all ? " fwd+bwd" : pass == forward ? " fwd" : pass == backward_data ? " bwd-data" : " bwd-weights"));
  state.counters["GFLOP/s"] =
      benchmark::Counter(passes * bench::conv_flops(l) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_conv)->ArgsProduct({{0, 1}, {forward, backward_data, backward_weights, all}})->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
