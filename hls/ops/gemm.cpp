// gemm and gemm_batched on the MAC engine (tandem_gemm, tandem_gemm_batched).
#include "binding.h"
#include "cores.h"

namespace tandem::fpga {
namespace {

void bind_gemm(const OpCall& c, CoreCall& k) {
  const auto& p = c.param<GemmParams>();
  const Tensor &a = *c.in[0], &b = *c.in[1], &y = *c.out[0];
  const int64_t m = y.shape()[0], n = y.shape()[1], kk = p.trans_a ? a.shape()[0] : a.shape()[1];
  // c is read as well as written when beta ≠ 0: an in-out port either way.
  k.in(a).in(b).out(y).dim(m, "m").dim(n, "n").dim(kk, "k").arg(int{p.trans_a}).arg(int{p.trans_b}).arg(p.alpha).arg(
      p.beta);
  k.model([=](const CardProfile& card) { return fpga::gemm(card, m, n, kk).seconds; });
}
TANDEM_CORE_KERNEL(gemm, tandem_gemm, bind_gemm);

void bind_gemm_batched(const OpCall& c, CoreCall& k) {
  const auto& p = c.param<GemmParams>();
  const Tensor &a = *c.in[0], &b = *c.in[1], &y = *c.out[0];
  const int64_t batch = y.shape()[0], m = y.shape()[1], n = y.shape()[2], kk = p.trans_a ? a.shape()[1] : a.shape()[2];
  k.in(a).in(b).out(y).dim(batch, "batch").dim(m, "m").dim(n, "n").dim(kk, "k").arg(int{p.trans_a}).arg(int{p.trans_b});
  k.arg(p.alpha).arg(p.beta);
  k.model([=](const CardProfile& card) { return fpga::gemm_batched(card, batch, m, n, kk).seconds; });
}
TANDEM_CORE_KERNEL(gemm_batched, tandem_gemm_batched, bind_gemm_batched);

}  // namespace
}  // namespace tandem::fpga
