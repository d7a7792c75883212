// Fused attention (ops::attention_forward / _backward) against attention written out — batched
// sgemm q·kᵀ, softmax, batched sgemm with v, and their backward ops — call by call, on the
// shapes of the built-in transformers at batch 64: vit (4 heads of 16 over 50 tokens) and
// BERT-mini (4 heads of 64 over 128 tokens). ratio > 1: fused is faster (both counted at the
// written-out form's FLOPs).
#include "bench/bench_util.h"
#include "tandem/ops.h"

namespace {

using namespace tandem;

struct Shape3 {
  const char* name;
  int64_t b, t, d;
};
constexpr Shape3 shapes[] = {{"vit b64", 64 * 4, 50, 16}, {"bert-mini b64", 64 * 4, 128, 64}};

void BM_attention(benchmark::State& state) {
  const Shape3& s3 = shapes[static_cast<size_t>(state.range(0))];
  const bool backward = state.range(1) != 0;
  const Device cpu = cpu_device();
  Stream s(cpu);
  const Shape qs{s3.b, s3.t, s3.d}, ss{s3.b, s3.t, s3.t};
  Tensor q = bench::random_tensor(cpu, qs, 1), k = bench::random_tensor(cpu, qs, 2), v = bench::random_tensor(cpu, qs, 3);
  Tensor g = bench::random_tensor(cpu, qs, 4), o = Tensor::empty(cpu, qs), dq = Tensor::empty(cpu, qs),
         dk = Tensor::empty(cpu, qs), dv = Tensor::empty(cpu, qs);
  Tensor scores = Tensor::empty(cpu, ss), probs = Tensor::empty(cpu, ss), dp = Tensor::empty(cpu, ss);
  const float scale = 1.0f / std::sqrt(static_cast<float>(s3.d));
  ops::attention_forward(s, q, k, v, o, {scale});
  auto fused = [&] {
    if (backward) ops::attention_backward(s, q, k, v, o, g, dq, dk, dv, {scale});
    else ops::attention_forward(s, q, k, v, o, {scale});
  };
  auto written_out = [&] {
    if (!backward) {
      ops::gemm_batched(s, q, k, scores, {false, true});
      ops::softmax_forward(s, scores, probs, {-1, scale});
      ops::gemm_batched(s, probs, v, o);
      return;
    }
    // What autodiff derives for the written-out form (the probabilities kept from the forward pass).
    ops::gemm_batched(s, probs, g, dv, {true, false});
    ops::gemm_batched(s, g, v, dp, {false, true});
    ops::softmax_backward(s, probs, dp, dp, {-1, scale});
    ops::gemm_batched(s, dp, k, dq);
    ops::gemm_batched(s, dp, q, dk, {true, false});
  };
  written_out();
  const double flops = (backward ? 8.0 : 4.0) * static_cast<double>(s3.b * s3.t * s3.t * s3.d);
  bench::paired(state, flops, fused, flops, written_out);
  state.SetLabel(std::string(s3.name) + (backward ? " backward" : " forward"));
}
BENCHMARK(BM_attention)->ArgsProduct({{0, 1}, {0, 1}});

}  // namespace

BENCHMARK_MAIN();
