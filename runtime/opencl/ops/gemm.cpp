// Host side of gemm (gemm.cl): tiled f32; f16/bf16 widened to f32 and narrowed once, as on the
// CPU.
#include <string>
#include <vector>

#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

void gemm_f32(const OpCall& c, const Tensor& a, const Tensor& b, const Tensor& out) {
  const auto& p = c.param<GemmParams>();
  const int m = c.count32(out.shape()[0], "m"), n = c.count32(out.shape()[1], "n");
  const int k = c.count32(p.trans_a ? a.shape()[0] : a.shape()[1], "k");
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
      .run({static_cast<size_t>(n), static_cast<size_t>(m)}, {t, t});
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

}  // namespace
}  // namespace tandem::opencl
