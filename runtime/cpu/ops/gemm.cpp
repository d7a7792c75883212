// gemm on OpenBLAS sgemm; f16/bf16 operands are widened to f32 (in parallel) and the result
// narrowed back.
#include <cblas.h>

#include <vector>

#include "../kernels.h"

namespace tandem::cpu {
namespace {

// f32 copies of f16/bf16 operands, kept per thread between calls: fresh multi-megabyte
// allocations would page-fault on every call and cost as much as the conversion.
struct Widened {
  std::vector<float> a, b, c;
};

void widen_into(const Tensor& t, std::vector<float>& v) {
  v.resize(static_cast<size_t>(t.numel()));
  const auto* src = static_cast<const uint16_t*>(t.data());
  for_blocks(t.numel(), [&](int64_t first, int64_t count) {
    to_f32(t.dtype(), src + first, v.data() + first, static_cast<size_t>(count));
  });
}

void narrow_into(const std::vector<float>& v, const Tensor& t) {
  auto* dst = static_cast<uint16_t*>(t.data());
  for_blocks(t.numel(), [&](int64_t first, int64_t count) {
    from_f32(t.dtype(), v.data() + first, dst + first, static_cast<size_t>(count));
  });
}

}  // namespace

void gemm(const OpCall& call) {
  const Tensor &a = *call.in[0], &b = *call.in[1], &c = *call.out[0];
  const auto& p = call.param<GemmParams>();
  const int m = static_cast<int>(c.shape()[0]), n = static_cast<int>(c.shape()[1]);
  const int k = static_cast<int>(p.trans_a ? a.shape()[0] : a.shape()[1]);
  const int lda = static_cast<int>(a.shape()[1]), ldb = static_cast<int>(b.shape()[1]);
  const auto ta = p.trans_a ? CblasTrans : CblasNoTrans, tb = p.trans_b ? CblasTrans : CblasNoTrans;
  if (m == 0 || n == 0) return;
  if (c.dtype() == DType::f32) {
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, p.alpha, static_cast<const float*>(a.data()), lda,
                static_cast<const float*>(b.data()), ldb, p.beta, static_cast<float*>(c.data()), n);
    return;
  }
  thread_local Widened w;
  widen_into(a, w.a);
  widen_into(b, w.b);
  if (p.beta != 0.0f)
    widen_into(c, w.c);
  else
    w.c.resize(static_cast<size_t>(c.numel()));  // beta = 0: sgemm does not read c
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, p.alpha, w.a.data(), lda, w.b.data(), ldb, p.beta, w.c.data(), n);
  narrow_into(w.c, c);
}
TANDEM_KERNEL(cpu_kernels, gemm, gemm);

// One sgemm per matrix: OpenBLAS threads each one (attention's are small; the CPU-speed issue
// owns a batched kernel).
void gemm_batched(const OpCall& call) {
  const Tensor &a = *call.in[0], &b = *call.in[1], &c = *call.out[0];
  const auto& p = call.param<GemmParams>();
  const int64_t batch = c.shape()[0];
  const int m = static_cast<int>(c.shape()[1]), n = static_cast<int>(c.shape()[2]);
  const int k = static_cast<int>(p.trans_a ? a.shape()[1] : a.shape()[2]);
  const int lda = static_cast<int>(a.shape()[2]), ldb = static_cast<int>(b.shape()[2]);
  const auto ta = p.trans_a ? CblasTrans : CblasNoTrans, tb = p.trans_b ? CblasTrans : CblasNoTrans;
  if (m == 0 || n == 0) return;
  const int64_t sa = a.shape()[1] * a.shape()[2], sb = b.shape()[1] * b.shape()[2], sc = int64_t{m} * n;
  const auto* A = static_cast<const float*>(a.data());
  const auto* B = static_cast<const float*>(b.data());
  auto* C = static_cast<float*>(c.data());
  for (int64_t i = 0; i < batch; ++i)
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, p.alpha, A + i * sa, lda, B + i * sb, ldb, p.beta, C + i * sc, n);
}
TANDEM_KERNEL(cpu_kernels, gemm_batched, gemm_batched);

}  // namespace tandem::cpu
