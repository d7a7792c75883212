// Host side of gemm and gemm_batched (gemm.cl): tiled f32; f16/bf16 widened to f32 and narrowed
// once, as on the CPU.
#include <string>
#include <vector>

#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

// The tiled kernel over batch.count matrices (1 for gemm), those of a, b and c sa, sb and sc
// elements apart.
struct Batch {
  size_t count = 1;
  cl_ulong sa = 0, sb = 0, sc = 0;
};

void gemm_tiles(const OpCall& c, const Tensor& a, const Tensor& b, const Tensor& out, int m, int n, int k,
                const Batch& batch) {
  const auto& p = c.param<GemmParams>();
  const auto t = static_cast<size_t>(cl_device(c).tile());
  Launch(c, "gemm", "gemm_f32")
      .arg(a)
      .arg(b)
      .arg(out)
      .scalar(m)
      .scalar(n)
      .scalar(k)
      .scalar<int>(p.trans_a)
      .scalar<int>(p.trans_b)
      .scalar(p.alpha)
      .scalar(p.beta)
      .scalar(batch.sa)
      .scalar(batch.sb)
      .scalar(batch.sc)
      .run({static_cast<size_t>(n), static_cast<size_t>(m), batch.count}, {t, t, 1});
}

void gemm_f32(const OpCall& c, const Tensor& a, const Tensor& b, const Tensor& out) {
  const auto& p = c.param<GemmParams>();
  const int m = c.count32(out.shape()[0], "m"), n = c.count32(out.shape()[1], "n");
  const int k = c.count32(p.trans_a ? a.shape()[0] : a.shape()[1], "k");
  gemm_tiles(c, a, b, out, m, n, k, {});
}

// f16/bf16 as on the CPU: the operands widened to f32 (scratch tensors, freed once the queued
// kernels are done), multiplied in f32, the result narrowed once.
void gemm(const OpCall& c) {
  const Tensor &a = *c.in[0], &b = *c.in[1], &out = *c.out[0];
  if (out.dtype() == DType::f32) return gemm_f32(c, a, b, out);
  auto widened = [&](const Tensor& t) {
    Tensor w = Tensor::empty(t.device(), t.shape());
    cast_into(c, t, w);
    return w;
  };
  const Tensor wa = widened(a), wb = widened(b);
  // beta = 0 does not read c, which may hold anything.
  const Tensor wc = c.param<GemmParams>().beta != 0.0f ? widened(out) : Tensor::empty(out.device(), out.shape());
  gemm_f32(c, wa, wb, wc);
  cast_into(c, wc, out);
}
TANDEM_KERNEL(opencl_kernels, gemm, gemm);

// The batch is grid dimension 2 of the same kernel: one launch for every matrix.
void gemm_batched(const OpCall& c) {
  const Tensor &a = *c.in[0], &b = *c.in[1], &out = *c.out[0];
  const auto& p = c.param<GemmParams>();
  const int m = c.count32(out.shape()[1], "m"), n = c.count32(out.shape()[2], "n");
  const int k = c.count32(p.trans_a ? a.shape()[1] : a.shape()[2], "k");
  auto matrix = [](const Tensor& t) { return static_cast<cl_ulong>(t.shape()[1] * t.shape()[2]); };
  gemm_tiles(c, a, b, out, m, n, k, {static_cast<size_t>(out.shape()[0]), matrix(a), matrix(b), matrix(out)});
}
TANDEM_KERNEL(opencl_kernels, gemm_batched, gemm_batched);

}  // namespace
}  // namespace tandem::opencl
