// GEMM through the runtime against OpenBLAS sgemm called directly on the same matrices,
// interleaved call by call. Target: ratio ≥ 0.95 for M=N=K in 64…2048.
// Also f16/bf16 storage (widened to f32, sgemm, narrowed) against f32 sgemm.
#include "bench/bench_util.h"
#include "tandem/ops.h"

namespace {

using namespace tandem;

// Runtime gemm in `dtype` storage vs OpenBLAS f32 on matrices of the same values.
void BM_gemm(benchmark::State& state, DType dtype) {
  const int64_t n = state.range(0);
  const Device cpu = cpu_device();
  Stream s(cpu);
  Tensor a = bench::random_tensor(cpu, {n, n}, 1), b = bench::random_tensor(cpu, {n, n}, 2);
  Tensor c = Tensor::empty(cpu, {n, n});
  Tensor ta = Tensor::empty(cpu, {n, n}, dtype), tb = Tensor::empty(cpu, {n, n}, dtype);
  Tensor tc = Tensor::empty(cpu, {n, n}, dtype);
  ops::cast(s, a, ta);
  ops::cast(s, b, tb);
  const double flops = 2.0 * static_cast<double>(n * n * n);
  bench::paired(
      state, flops, [&] { ops::gemm(s, ta, tb, tc); }, flops, [&] { bench::sgemm_direct(a, b, c); });
}

}  // namespace

int main(int argc, char** argv) {
  for (int64_t n = 64; n <= 2048; n *= 2) benchmark::RegisterBenchmark("BM_gemm_f32", BM_gemm, DType::f32)->Arg(n);
  for (int64_t n : {512, 1024}) {
    benchmark::RegisterBenchmark("BM_gemm_f16", BM_gemm, DType::f16)->Arg(n);
    benchmark::RegisterBenchmark("BM_gemm_bf16", BM_gemm, DType::bf16)->Arg(n);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
