// GEMM through the runtime against OpenBLAS sgemm called directly, same matrices, same run.
// Target: runtime ≥ 0.95× OpenBLAS for M=N=K in 64…2048. Also f16/bf16 storage (computed in f32).
#include <benchmark/benchmark.h>
#include <cblas.h>

#include "bench/bench_util.h"
#include "tandem/ops.h"

namespace {

using namespace tandem;

void set_flops(benchmark::State& state, int64_t n) {
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(n * n * n) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void BM_gemm_openblas(benchmark::State& state) {
  const int64_t n = state.range(0);
  Tensor a = bench::random_tensor(cpu_device(), {n, n}, 1), b = bench::random_tensor(cpu_device(), {n, n}, 2);
  Tensor c = Tensor::empty(cpu_device(), {n, n});
  const int ni = static_cast<int>(n);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0f, a.host_data<float>(), ni,
                b.host_data<float>(), ni, 0.0f, c.host_data<float>(), ni);
    benchmark::ClobberMemory();
  }
  set_flops(state, n);
}

void BM_gemm_runtime(benchmark::State& state) {
  const int64_t n = state.range(0);
  Stream s(cpu_device());
  Tensor a = bench::random_tensor(cpu_device(), {n, n}, 1), b = bench::random_tensor(cpu_device(), {n, n}, 2);
  Tensor c = Tensor::empty(cpu_device(), {n, n});
  for (auto _ : state) {
    ops::gemm(s, a, b, c);
    benchmark::ClobberMemory();
  }
  set_flops(state, n);
}

template <DType T>
void BM_gemm_runtime_half(benchmark::State& state) {
  const int64_t n = state.range(0);
  Stream s(cpu_device());
  Tensor a = Tensor::empty(cpu_device(), {n, n}, T), b = Tensor::empty(cpu_device(), {n, n}, T);
  Tensor c = Tensor::empty(cpu_device(), {n, n}, T);
  ops::cast(s, bench::random_tensor(cpu_device(), {n, n}, 1), a);
  ops::cast(s, bench::random_tensor(cpu_device(), {n, n}, 2), b);
  for (auto _ : state) {
    ops::gemm(s, a, b, c);
    benchmark::ClobberMemory();
  }
  set_flops(state, n);
}

// Interleaved per size so both see the same machine state.
BENCHMARK(BM_gemm_openblas)->RangeMultiplier(2)->Range(64, 2048)->UseRealTime();
BENCHMARK(BM_gemm_runtime)->RangeMultiplier(2)->Range(64, 2048)->UseRealTime();
BENCHMARK(BM_gemm_runtime_half<DType::f16>)->Arg(512)->Arg(1024)->UseRealTime();
BENCHMARK(BM_gemm_runtime_half<DType::bf16>)->Arg(512)->Arg(1024)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
