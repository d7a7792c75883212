// gemm on OpenBLAS sgemm; f16/bf16 operands are widened to f32 and the result narrowed back.
#include <cblas.h>

#include <vector>

#include "../kernels.h"

namespace tandem::cpu {
namespace {

std::vector<float> widened(const Tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  to_f32(t.dtype(), t.data(), v.data(), v.size());
  return v;
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
  const std::vector<float> a32 = widened(a), b32 = widened(b);
  std::vector<float> c32 = p.beta != 0.0f ? widened(c) : std::vector<float>(static_cast<size_t>(c.numel()));
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, p.alpha, a32.data(), lda, b32.data(), ldb, p.beta, c32.data(), n);
  from_f32(c.dtype(), c32.data(), c.data(), c32.size());
}

}  // namespace tandem::cpu
