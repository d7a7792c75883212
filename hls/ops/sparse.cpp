// compact on the threshold-selection core (tandem_compact).
#include "binding.h"
#include "cores.h"

namespace tandem::fpga {
namespace {

void bind_compact(const OpCall& c, CoreCall& k) {
  const Tensor &x = *c.in[0], &idx = *c.out[0], &count = *c.out[2];
  const int64_t n = x.numel(), capacity = idx.numel();
  // The core takes the threshold as a register value; the op has it in device memory (usually
  // kth_magnitude's output), so the driver reads it first: one 4-byte transfer.
  const float threshold = k.host_values<float>(*c.in[1])[0];
  k.in(x).arg(threshold).out(idx).out(*c.out[1]).out(count).dim(n, "n").dim(capacity, "capacity").arg(
      c.param<CompactParams>().limit);
  // The selection pass stops once the output is full, right after the capacity-th selection:
  // the modeled time depends on the outputs, read once the core has run.
  k.model([&k, &idx, &count, n, capacity](const CardProfile& card) {
    const int32_t selected = k.host_values<int32_t>(count)[0];
    int64_t scanned = capacity == 0 ? 0 : n;
    if (capacity > 0 && selected > capacity) {
      const Tensor last(idx.buffer(), {1}, DType::i32, idx.offset() + sizeof(int32_t) * (capacity - 1));
      scanned = int64_t{k.host_values<int32_t>(last)[0]} + 1;
    }
    return fpga::compact(card, n, scanned).seconds;
  });
}
TANDEM_CORE_KERNEL(compact, tandem_compact, bind_compact);

}  // namespace
}  // namespace tandem::fpga
