// Conv2d passes for the benchmark CNN's layers (batch 64), each interleaved call by call with
// an OpenBLAS sgemm at 1024×1024, so the share of the sgemm rate is measured under the same
// machine state. Target: the 16→32 layer's forward+backward ≥ 40% of the sgemm rate.
#include "bench/bench_util.h"
#include "bench/cnn_layers.h"
#include "tandem/ops.h"

namespace {

using namespace tandem;

enum Pass { forward = 1, backward_data = 2, backward_weights = 4, all = 7 };

const char* pass_name(int pass) {
  switch (pass) {
    case forward:
      return "fwd";
    case backward_data:
      return "bwd-data";
    case backward_weights:
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
  const Conv2dParams p{1, 1, l.pad, l.pad};
  const int64_t oh = window_out(l.h, l.r, 1, l.pad), ow = window_out(l.w, l.s, 1, l.pad);
  Tensor x = bench::random_tensor(cpu, {l.n, l.c, l.h, l.w}, 1), w = bench::random_tensor(cpu, {l.k, l.c, l.r, l.s}, 2);
  Tensor dy = bench::random_tensor(cpu, {l.n, l.k, oh, ow}, 3), y = Tensor::empty(cpu, dy.shape());
  Tensor dx = Tensor::empty(cpu, x.shape()), dw = Tensor::empty(cpu, w.shape());
  const int n = 1024;
  Tensor a = bench::random_tensor(cpu, {n, n}, 4), b = bench::random_tensor(cpu, {n, n}, 5),
         c = Tensor::empty(cpu, {n, n});
  int passes = 0;
  for (int bit = 1; bit <= 4; bit <<= 1) passes += (pass & bit) ? 1 : 0;
  bench::paired(
      state, passes * bench::conv_flops(l),
      [&] {
        if (pass & forward) ops::conv2d_forward(s, x, w, y, p);
        if (pass & backward_data) ops::conv2d_backward_data(s, dy, w, dx, p);
        if (pass & backward_weights) ops::conv2d_backward_weights(s, x, dy, dw, p);
      },
      2.0 * n * n * n, [&] { bench::sgemm_direct(a, b, c); });
  state.SetLabel(std::string(l.name) + " " + pass_name(pass));
}
BENCHMARK(BM_conv)->ArgsProduct({{0, 1}, {forward, backward_data, backward_weights, all}});

}  // namespace

BENCHMARK_MAIN();
