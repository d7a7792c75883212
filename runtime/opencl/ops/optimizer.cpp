// Host side of adam_update (optimizer.cl): one work-item per element. f32.
#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

void adam_update(const OpCall& c) {
  const auto& p = c.param<AdamParams>();
  const auto n = static_cast<cl_ulong>(c.in[0]->numel());
  if (n == 0) return;
  Launch(c, "optimizer", "adam_update_f32")
      .arg(*c.in[0])
      .arg(*c.out[0])
      .arg(*c.out[1])
      .arg(*c.out[2])
      .scalar(n)
      .scalar(p.beta1)
      .scalar(p.beta2)
      .scalar(p.one_minus_beta1)
      .scalar(p.one_minus_beta2)
      .scalar(p.eps)
      .scalar(p.l2)
      .scalar(p.decay)
      .scalar(p.step_size)
      .scalar(p.bias2_sqrt)
      .run({static_cast<size_t>(n)});
}

}  // namespace

TANDEM_KERNEL(opencl_kernels, adam_update, adam_update);

}  // namespace tandem::opencl
