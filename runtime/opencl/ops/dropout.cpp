// Host side of dropout (dropout.cl): the mask is drawn on the device from the key, forward and
// backward alike. f32.
#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

void dropout(const OpCall& c) {
  const auto& p = c.param<DropoutParams>();
  const auto n = static_cast<cl_ulong>(c.in[0]->numel());
  const cl_ulong blocks = (p.key.offset + n + 3) / 4 - p.key.offset / 4;  // the Philox blocks x draws from
  const float scale = p.p < 1.0f ? 1.0f / (1.0f - p.p) : 0.0f;            // as the CPU computes it
  if (n == 0) return;
  Launch(c, "dropout", "dropout_f32")
      .arg(*c.in[0])
      .arg(*c.out[0])
      .scalar(n)
      .scalar(p.p)
      .scalar(scale)
      .key(p.key)
      .run({blocks});
}

}  // namespace

TANDEM_KERNEL(opencl_kernels, dropout_forward, dropout);
TANDEM_KERNEL(opencl_kernels, dropout_backward, dropout);

}  // namespace tandem::opencl
