// gemm on cuBLAS: f32 through cublasSgemm (TF32 tensor cores only when TANDEM_CUDA_TF32=1),
// f16/bf16 through cublasGemmEx with f32 accumulation and alpha/beta in f32 — as the CPU widens
// the operands to f32 and narrows the result once. gemm_batched (f32): one
// cublasSgemmStridedBatched over the whole batch, on the stream's handle and so in its math mode.
//
// Row-major to cuBLAS's column-major: a row-major X [r, c] is the column-major Xᵀ [c, r] with
// leading dimension c, so C = op(A)·op(B) is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ: B first, A second.
#include <cublas_v2.h>

#include "op.h"

namespace tandem::cuda {
namespace {

// k = 0, no products: c = beta·c, and zero (not NaN·0) when beta = 0, as BLAS does.
void scale_by_beta(const Op& op, const Tensor& out, float beta) {
  if (beta == 0.0f) {
    TANDEM_OP_CHECK(op, cudaMemsetAsync(out.data(), 0, out.nbytes(), op.s()));
  } else if (beta != 1.0f) {
    scale_tensor(op, out, beta);
  }
}

}  // namespace

void gemm(const OpCall& c) {
  const Op op(c);
  const Tensor &a = *c.in[0], &b = *c.in[1], &out = *c.out[0];
  const auto& p = c.param<GemmParams>();
  const int m = op.count32(out.shape()[0], "m"), n = op.count32(out.shape()[1], "n");
  const int k = op.count32(p.trans_a ? a.shape()[0] : a.shape()[1], "k");
  if (m == 0 || n == 0) return;
  if (k == 0) {
    scale_by_beta(op, out, p.beta);
    return;
  }
  // Leading dimensions: the row length of each row-major matrix (at least 1, as cuBLAS demands).
  const int lda = op.count32(a.shape()[1], "lda"), ldb = op.count32(b.shape()[1], "ldb");
  const cublasOperation_t ta = p.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, tb = p.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasHandle_t h = op.stream.cublas();
  if (out.dtype() == DType::f32) {
    TANDEM_OP_CHECK(op,
                    cublasSgemm(h, tb, ta, n, m, k, &p.alpha, static_cast<const float*>(b.data()), ldb,
                                static_cast<const float*>(a.data()), lda, &p.beta, static_cast<float*>(out.data()), n));
    return;
  }
  const cudaDataType t = out.dtype() == DType::f16 ? CUDA_R_16F : CUDA_R_16BF;
  TANDEM_OP_CHECK(op, cublasGemmEx(h, tb, ta, n, m, k, &p.alpha, b.data(), t, ldb, a.data(), t, lda, &p.beta,
                                   out.data(), t, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}
TANDEM_KERNEL(cuda_kernels, gemm, gemm);

// a [B,M,K] ([B,K,M] if trans_a), b [B,K,N] ([B,N,K] if trans_b), c [B,M,N]: matrix i of each
// starts i·(its rows·columns) elements in; the same column-major swap as gemm, matrix by matrix.
void gemm_batched(const OpCall& c) {
  const Op op(c);
  const Tensor &a = *c.in[0], &b = *c.in[1], &out = *c.out[0];
  const auto& p = c.param<GemmParams>();
  const int batch = op.count32(out.shape()[0], "batch");
  const int m = op.count32(out.shape()[1], "m"), n = op.count32(out.shape()[2], "n");
  const int k = op.count32(p.trans_a ? a.shape()[1] : a.shape()[2], "k");
  if (batch == 0 || m == 0 || n == 0) return;
  if (k == 0) {
    scale_by_beta(op, out, p.beta);
    return;
  }
  // Leading dimensions: the row length of each row-major matrix (≥ 1 here: m, n and k are).
  const int lda = op.count32(a.shape()[2], "lda"), ldb = op.count32(b.shape()[2], "ldb");
  const long long stride_a = a.shape()[1] * a.shape()[2], stride_b = b.shape()[1] * b.shape()[2],
                  stride_c = static_cast<long long>(m) * n;
  const cublasOperation_t ta = p.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, tb = p.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  TANDEM_OP_CHECK(op, cublasSgemmStridedBatched(op.stream.cublas(), tb, ta, n, m, k, &p.alpha,
                                                static_cast<const float*>(b.data()), ldb, stride_b,
                                                static_cast<const float*>(a.data()), lda, stride_a, &p.beta,
                                                static_cast<float*>(out.data()), n, stride_c, batch));
}
TANDEM_KERNEL(cuda_kernels, gemm_batched, gemm_batched);

}  // namespace tandem::cuda
