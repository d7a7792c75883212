// Max pooling on the pool cores (tandem_maxpool2d_forward, tandem_maxpool2d_backward).
#include "binding.h"
#include "cores.h"

namespace tandem::fpga {
namespace {

void bind_maxpool2d_forward(const OpCall& c, CoreCall& k) {
  const auto& p = c.param<Pool2dParams>();
  const Shape& x = c.in[0]->shape();
  const int64_t planes = x[0] * x[1], h = x[2], w = x[3];
  k.in(*c.in[0]).out(*c.out[0]).out(*c.out[1]).dim(planes, "planes").dim(h, "h").dim(w, "w").arg(p.kernel).arg(
      p.stride);
  k.model([=](const CardProfile& card) { return fpga::maxpool(card, planes, h, w, p.kernel, p.stride).seconds; });
}
TANDEM_CORE_KERNEL(maxpool2d_forward, tandem_maxpool2d_forward, bind_maxpool2d_forward);

void bind_maxpool2d_backward(const OpCall& c, CoreCall& k) {
  const Shape &dy = c.in[0]->shape(), &dx = c.out[0]->shape();
  const int64_t planes = dy[0] * dy[1], outputs = dy[2] * dy[3], inputs = dx[2] * dx[3];
  // Indices come from outside the op, and a core would scatter out of bounds: the driver reads
  // them and they are checked before anything is written.
  k.check_indices(pool_index_range(c), *c.in[1]);
  k.in(*c.in[0]).in(*c.in[1]).out(*c.out[0]).dim(planes, "planes").dim(outputs, "outputs").dim(inputs, "inputs");
  k.model([=](const CardProfile& card) { return fpga::maxpool_backward(card, planes, outputs, inputs).seconds; });
}
TANDEM_CORE_KERNEL(maxpool2d_backward, tandem_maxpool2d_backward, bind_maxpool2d_backward);

}  // namespace
}  // namespace tandem::fpga
