// Dispatch overhead: a tiny op through the registry (device check, shape validation, kernel
// lookup) against the same work as a direct loop. Target: < 1 µs per op.
#include <benchmark/benchmark.h>

#include "bench/bench_util.h"
#include "tandem/ops.h"

namespace {

using namespace tandem;

constexpr int64_t kElems = 16;

void BM_scale_direct(benchmark::State& state) {
  Tensor x = bench::random_tensor(cpu_device(), {kElems});
  float* p = x.host_data<float>();
  for (auto _ : state) {
    for (int64_t i = 0; i < kElems; ++i) p[i] *= 1.0000001f;
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_scale_direct);

void BM_scale_dispatch(benchmark::State& state) {
  Stream s(cpu_device());
  Tensor x = bench::random_tensor(cpu_device(), {kElems});
  for (auto _ : state) {
    ops::scale(s, 1.0000001f, x);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_scale_dispatch);

void BM_add_direct(benchmark::State& state) {
  Tensor a = bench::random_tensor(cpu_device(), {4, 4}), b = bench::random_tensor(cpu_device(), {4, 4}, 2);
  Tensor c = Tensor::empty(cpu_device(), {4, 4});
  const float *pa = a.host_data<float>(), *pb = b.host_data<float>();
  float* pc = c.host_data<float>();
  for (auto _ : state) {
    for (int i = 0; i < 16; ++i) pc[i] = pa[i] + pb[i];
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_add_direct);

// A two-input op with shape checks on every tensor.
void BM_add_dispatch(benchmark::State& state) {
  Stream s(cpu_device());
  Tensor a = bench::random_tensor(cpu_device(), {4, 4}), b = bench::random_tensor(cpu_device(), {4, 4}, 2);
  Tensor c = Tensor::empty(cpu_device(), {4, 4});
  for (auto _ : state) {
    ops::add(s, a, b, c);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_add_dispatch);

void BM_gemm4_direct(benchmark::State& state) {
  Tensor a = bench::random_tensor(cpu_device(), {4, 4}), b = bench::random_tensor(cpu_device(), {4, 4}, 2);
  Tensor c = Tensor::empty(cpu_device(), {4, 4});
  for (auto _ : state) {
    bench::sgemm_direct(a, b, c);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_gemm4_direct);

// The biggest validation: gemm on 4×4 matrices through the registry vs cblas directly.
void BM_gemm4_dispatch(benchmark::State& state) {
  Stream s(cpu_device());
  Tensor a = bench::random_tensor(cpu_device(), {4, 4}), b = bench::random_tensor(cpu_device(), {4, 4}, 2);
  Tensor c = Tensor::empty(cpu_device(), {4, 4});
  for (auto _ : state) {
    ops::gemm(s, a, b, c);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_gemm4_dispatch);

}  // namespace

BENCHMARK_MAIN();
