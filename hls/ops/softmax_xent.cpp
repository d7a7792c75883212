// Softmax cross-entropy on its cores (tandem_softmax_xent_forward, tandem_softmax_xent_backward). Labels
// come from data files: the driver reads them and they are checked before anything is written.
#include "binding.h"
#include "cores.h"

namespace tandem::fpga {
namespace {

// The cores average over every row: a masked-token loss (an ignore index) is not theirs. Said
// before binding, so that placement's dry run sees it and moves the loss to the CPU.
const char* xent_unsupported(const OpCall& c) {
  if (c.param<XentParams>().ignore_index != XentParams::no_ignore) return "the FPGA softmax cross-entropy core has no ignore index";
  return f32_cores(c);
}

void bind_softmax_xent_forward(const OpCall& c, CoreCall& k) {
  const int64_t n = c.in[0]->shape()[0], classes = c.in[0]->shape()[1];
  k.check_indices(label_range(c), *c.in[1]);
  k.in(*c.in[0]).in(*c.in[1]).out(*c.out[0]).out(*c.out[1]).dim(n, "n").dim(classes, "classes");
  k.model([=](const CardProfile& card) { return fpga::softmax_xent(card, n, classes).seconds; });
}
TANDEM_CORE_KERNEL_UNLESS(softmax_xent_forward, tandem_softmax_xent_forward, bind_softmax_xent_forward, xent_unsupported);

void bind_softmax_xent_backward(const OpCall& c, CoreCall& k) {
  const int64_t n = c.in[0]->shape()[0], classes = c.in[0]->shape()[1];
  k.check_indices(label_range(c), *c.in[1]);
  k.in(*c.in[0]).in(*c.in[1]).out(*c.out[0]).arg(c.param<XentParams>().dloss).dim(n, "n").dim(classes, "classes");
  k.model([=](const CardProfile& card) { return fpga::softmax_xent_backward(card, n, classes).seconds; });
}
TANDEM_CORE_KERNEL_UNLESS(softmax_xent_backward, tandem_softmax_xent_backward, bind_softmax_xent_backward, xent_unsupported);

}  // namespace
}  // namespace tandem::fpga
