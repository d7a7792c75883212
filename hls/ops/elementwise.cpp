// fill, scale, add and mul on the element-wise vector unit (tandem_elementwise), axpy on the
// accumulate core (tandem_axpy).
#include "binding.h"
#include "cores.h"

namespace tandem::fpga {

void bind_vector(const OpCall& c, CoreCall& k, VectorOp op, const Tensor* a, const Tensor* b, int reads, float alpha) {
  const Tensor& y = *c.out[0];
  const int64_t n = y.numel();
  k.arg(int{op}).in(a ? *a : y).in(b ? *b : y).out(y).arg(alpha).dim(n, "n");
  k.model([=](const CardProfile& card) { return fpga::vector(card, n, reads).seconds; });
}

namespace {

void bind_fill(const OpCall& c, CoreCall& k) { bind_vector(c, k, kFill, nullptr, nullptr, 0, c.param<FillParams>().value); }
TANDEM_CORE_KERNEL(fill, tandem_elementwise, bind_fill);

void bind_scale(const OpCall& c, CoreCall& k) {
  bind_vector(c, k, kScale, nullptr, nullptr, 1, c.param<ScaleParams>().alpha);
}
TANDEM_CORE_KERNEL(scale, tandem_elementwise, bind_scale);

void bind_add(const OpCall& c, CoreCall& k) { bind_vector(c, k, kAdd, c.in[0], c.in[1], 2, 0.0f); }
TANDEM_CORE_KERNEL(add, tandem_elementwise, bind_add);

void bind_sub(const OpCall& c, CoreCall& k) { bind_vector(c, k, kSub, c.in[0], c.in[1], 2, 0.0f); }
TANDEM_CORE_KERNEL(sub, tandem_elementwise, bind_sub);

void bind_mul(const OpCall& c, CoreCall& k) { bind_vector(c, k, kMul, c.in[0], c.in[1], 2, 0.0f); }
TANDEM_CORE_KERNEL(mul, tandem_elementwise, bind_mul);

// y += alpha·x: the accumulate core without `start`.
void bind_axpy(const OpCall& c, CoreCall& k) {
  const int64_t n = c.in[0]->numel();
  k.in(*c.in[0]).out(*c.out[0]).arg(c.param<ScaleParams>().alpha).dim(n, "n").arg(0);
  k.model([=](const CardProfile& card) { return fpga::accumulate(card, n).seconds; });
}
TANDEM_CORE_KERNEL(axpy, tandem_axpy, bind_axpy);

}  // namespace
}  // namespace tandem::fpga
