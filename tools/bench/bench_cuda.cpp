// GPU benchmarks for issue 9's targets, each against a baseline timed in the same run on the
// same stream, alternating batches of back-to-back calls (CUDA events around each batch, medians
// of the time per call):
//   gemm   ops::gemm on cuda:0 vs cuBLAS called directly on the same buffers (f32; f16 and
//          bf16 with f32 accumulation; TF32 when TANDEM_CUDA_TF32=1, for both sides);
//   codec  each streaming codec primitive's bytes/s (its op cost's bytes) vs a device-to-device
//          cudaMemcpyAsync of the gradient (read + write);
//   nccl   allreduce on this one GPU (one rank): time per call by size — NCCL's fixed overhead.
// Prints a table and writes JSON (--json FILE). Without a GPU it says so and exits 77 (skipped).
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../../cuda/interop.h"
#include "tandem/error.h"
#include "tandem/file.h"
#include "tandem/ops.h"

namespace {

using namespace tandem;

void check(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess) throw Error(ErrorKind::device, "cuda", what, cudaGetErrorString(rc));
}
void check(cublasStatus_t rc, const char* what) {
  if (rc != CUBLAS_STATUS_SUCCESS) throw Error(ErrorKind::device, "cuda", what, cublasGetStatusString(rc));
}
void check(ncclResult_t rc, const char* what) {
  if (rc != ncclSuccess) throw Error(ErrorKind::communication, "cuda", what, ncclGetErrorString(rc));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Seconds per call of each of `ours` and `base`, alternating, timed by events on one stream.
// Each timing spans `batch` calls back to back, as in a training step, so that the host's
// launch time hides behind the device's work instead of counting as idle device time.
struct Pair {
  double ours, base;
};
Pair paired(cudaStream_t s, int repeats, const std::function<void()>& ours, const std::function<void()>& base,
            int batch = 10) {
  cudaEvent_t e[3];
  for (auto& x : e) check(cudaEventCreate(&x), "cudaEventCreate");
  ours(), base();  // warm-up: algorithm choice, workspace, caches
  std::vector<double> a, b;
  for (int r = 0; r < repeats; ++r) {
    const bool ours_first = r % 2 == 0;
    check(cudaEventRecord(e[0], s), "cudaEventRecord");
    for (int i = 0; i < batch; ++i) (ours_first ? ours : base)();
    check(cudaEventRecord(e[1], s), "cudaEventRecord");
    for (int i = 0; i < batch; ++i) (ours_first ? base : ours)();
    check(cudaEventRecord(e[2], s), "cudaEventRecord");
    check(cudaEventSynchronize(e[2]), "cudaEventSynchronize");
    float first = 0, second = 0;
    check(cudaEventElapsedTime(&first, e[0], e[1]), "cudaEventElapsedTime");
    check(cudaEventElapsedTime(&second, e[1], e[2]), "cudaEventElapsedTime");
    (ours_first ? a : b).push_back(first * 1e-3 / batch);
    (ours_first ? b : a).push_back(second * 1e-3 / batch);
  }
  for (auto& x : e) cudaEventDestroy(x);
  return {median(a), median(b)};
}

nlohmann::json bench_gemm(const Device& gpu, Stream& s, bool tf32) {
  cudaStream_t cs = cuda::stream_of(s);
  cublasHandle_t h;
  check(cublasCreate(&h), "cublasCreate");
  check(cublasSetStream(h, cs), "cublasSetStream");
  check(cublasSetMathMode(h, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  nlohmann::json rows = nlohmann::json::array();
  std::printf("%-10s %6s %14s %14s %8s\n", "gemm", "n", "ours TFLOP/s", "cuBLAS TFLOP/s", "ratio");
  for (DType t : {DType::f32, DType::f16, DType::bf16})
    for (int64_t n : {1024, 2048, 4096, 8192}) {
      Tensor a = Tensor::empty(gpu, {n, n}, t), b = Tensor::empty(gpu, {n, n}, t), c = Tensor::empty(gpu, {n, n}, t);
      ops::fill(s, a, 0.01f), ops::fill(s, b, 0.02f), ops::fill(s, c, 0.0f);
      const float one = 1, zero = 0;
      const cudaDataType_t ct = t == DType::f32 ? CUDA_R_32F : t == DType::f16 ? CUDA_R_16F : CUDA_R_16BF;
      const cublasComputeType_t comp = t == DType::f32 && tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
      const int m = static_cast<int>(n);
      // Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: B and A swap places.
      const Pair p = paired(
          cs, n >= 4096 ? 10 : 20, [&] { ops::gemm(s, a, b, c); },
          [&] {
            check(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, m, m, &one, b.data(), ct, m, a.data(), ct, m, &zero,
                               c.data(), ct, m, comp, CUBLAS_GEMM_DEFAULT),
                  "cublasGemmEx");
          },
          n >= 4096 ? 2 : 10);
      const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
      const char* name = t == DType::f32 ? (tf32 ? "f32 (tf32)" : "f32") : t == DType::f16 ? "f16" : "bf16";
      std::printf("%-10s %6lld %14.1f %14.1f %8.3f\n", name, static_cast<long long>(n), flops / p.ours * 1e-12,
                  flops / p.base * 1e-12, p.base / p.ours);
      rows.push_back({{"dtype", name},
                      {"n", n},
                      {"ours_seconds", p.ours},
                      {"cublas_seconds", p.base},
                      {"ours_tflops", flops / p.ours * 1e-12},
                      {"cublas_tflops", flops / p.base * 1e-12},
                      {"ratio", p.base / p.ours}});
    }
  cublasDestroy(h);
  return rows;
}

nlohmann::json bench_codecs(const Device& gpu, Stream& s) {
  cudaStream_t cs = cuda::stream_of(s);
  const int64_t n = 64 << 20, chunk = 256, chunks = n / chunk;
  Tensor x = Tensor::empty(gpu, {n}), copy = Tensor::empty(gpu, {n});
  ops::random_fill(s, x, {{1, 0, 0, 0}, -1.0f, 1.0f});
  Tensor unit = Tensor::empty(gpu, {chunks}), q = Tensor::empty(gpu, {n}, DType::i8);
  Tensor h16 = Tensor::empty(gpu, {n}, DType::f16), b16 = Tensor::empty(gpu, {n}, DType::bf16);
  Tensor signs = Tensor::empty(gpu, {n / 8}, DType::u8), y = Tensor::empty(gpu, {n});
  Tensor packed = Tensor::empty(gpu, {n / 2}, DType::u8);
  QuantizeParams nearest{chunk, 127, QuantScale::absmax, false, {}}, qsgd{chunk, 7, QuantScale::norm2, true, {}};
  struct Case {
    const char* name;
    std::function<void()> run;
    OpCost cost;
  };
  const ChunkParams cp{chunk};
  const BitPackParams bp{4, 7};
  const std::vector<Case> cases = {
      {"cast f32→f16", [&] { ops::cast(s, x, h16); }, op_cost(gpu, opdesc::cast, {&x}, {&h16})},
      {"cast f32→bf16", [&] { ops::cast(s, x, b16); }, op_cost(gpu, opdesc::cast, {&x}, {&b16})},
      {"chunk_absmax", [&] { ops::chunk_absmax(s, x, unit, cp); },
       op_cost(gpu, opdesc::chunk_absmax, {&x}, {&unit}, &cp)},
      {"quantize int8", [&] { ops::quantize(s, x, unit, q, nearest); },
       op_cost(gpu, opdesc::quantize, {&x}, {&unit, &q}, &nearest)},
      {"quantize qsgd:7", [&] { ops::quantize(s, x, unit, q, qsgd); },
       op_cost(gpu, opdesc::quantize, {&x}, {&unit, &q}, &qsgd)},
      {"dequantize", [&] { ops::dequantize(s, q, unit, y, cp); },
       op_cost(gpu, opdesc::dequantize, {&q, &unit}, {&y}, &cp)},
      {"sign_pack", [&] { ops::sign_pack(s, x, unit, signs, cp); },
       op_cost(gpu, opdesc::sign_pack, {&x}, {&unit, &signs}, &cp)},
      {"sign_unpack", [&] { ops::sign_unpack(s, signs, unit, y, cp); },
       op_cost(gpu, opdesc::sign_unpack, {&signs, &unit}, {&y}, &cp)},
      {"pack_bits 4", [&] { ops::pack_bits(s, q, packed, bp); }, op_cost(gpu, opdesc::pack_bits, {&q}, {&packed}, &bp)},
  };
  nlohmann::json rows = nlohmann::json::array();
  std::printf("\n%-18s %12s %12s %8s\n", "codec primitive", "ours GB/s", "D2D GB/s", "ratio");
  for (const Case& c : cases) {
    const Pair p = paired(cs, 20, c.run, [&] {
      check(cudaMemcpyAsync(copy.data(), x.data(), x.nbytes(), cudaMemcpyDeviceToDevice, cs), "cudaMemcpyAsync");
    });
    const double ours = c.cost.bytes / p.ours * 1e-9, d2d = 2.0 * static_cast<double>(x.nbytes()) / p.base * 1e-9;
    std::printf("%-18s %12.1f %12.1f %8.3f\n", c.name, ours, d2d, ours / d2d);
    rows.push_back({{"op", c.name},
                    {"bytes", c.cost.bytes},
                    {"ours_seconds", p.ours},
                    {"copy_seconds", p.base},
                    {"ours_GBps", ours},
                    {"copy_GBps", d2d},
                    {"ratio", ours / d2d}});
  }
  return rows;
}

nlohmann::json bench_nccl(const Device& gpu, Stream& s) {
  cudaStream_t cs = cuda::stream_of(s);
  ncclComm_t comm;
  int dev = cuda::ordinal_of(gpu);
  check(ncclCommInitAll(&comm, 1, &dev), "ncclCommInitAll");
  nlohmann::json rows = nlohmann::json::array();
  std::printf("\n%-12s %12s %12s\n", "allreduce", "µs per call", "algbw GB/s");
  for (int64_t bytes = 1 << 10; bytes <= (int64_t{256} << 20); bytes *= 16) {
    Tensor t = Tensor::zeros(gpu, {bytes / 4});
    const Pair p = paired(
        cs, 20,
        [&] { check(ncclAllReduce(t.data(), t.data(), t.numel(), ncclFloat32, ncclSum, comm, cs), "ncclAllReduce"); },
        [] {});
    std::printf("%-12lld %12.1f %12.1f\n", static_cast<long long>(bytes), p.ours * 1e6,
                static_cast<double>(bytes) / p.ours * 1e-9);
    rows.push_back({{"bytes", bytes},
                    {"seconds", p.ours},
                    {"algbw_GBps", static_cast<double>(bytes) / p.ours * 1e-9},
                    {"ranks", 1}});
  }
  ncclCommDestroy(comm);
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--json") == 0) json_path = argv[i + 1];
  try {
    Device gpu;
    for (const Device& d : devices())
      if (d.kind() == DeviceKind::cuda && !gpu) gpu = d;
    if (!gpu) {
      std::printf("no CUDA GPU: nothing measured (skipped)\n");
      return 77;
    }
    std::printf("%s (%s)\n", gpu.props().name.c_str(), gpu.id().c_str());
    Stream s(gpu);
    const bool tf32 = std::getenv("TANDEM_CUDA_TF32") != nullptr;
    nlohmann::json j{{"device", gpu.props().name}, {"tf32", tf32}};
    j["gemm"] = bench_gemm(gpu, s, tf32);
    j["codec"] = bench_codecs(gpu, s);
    j["nccl"] = bench_nccl(gpu, s);
    if (!json_path.empty()) write_file_atomic(json_path, j.dump(1) + "\n");
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
