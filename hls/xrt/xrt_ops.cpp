// The fpga-xrt device's kernels: each op a core serves, bound by its binding (hls/ops/, shared
// with fpga-sim) and started on the card as the bitstream's kernel of the core's name. Only the
// cores the card's xclbin holds are registered.
#include "binding.h"
#include "xrt_device.h"

namespace tandem::fpga {
namespace {

// A binding's host reads are copies from the card, after the runs writing the tensor.
class XrtDriver final : public CoreDriver {
 public:
  explicit XrtDriver(XrtCard& card) : card_(card) {}
  void read(const Tensor& t, void* host) const override {
    card_.read(host, XrtDevice::bo(t.buffer().memory()), t.offset(), t.nbytes());
  }

 private:
  XrtCard& card_;
};

KernelArg kernel_arg(const CoreArg& a) {
  const auto as = [&](auto v) {
    std::memcpy(&v, &a.bits, sizeof v);
    return KernelArg::scalar(v);
  };
  switch (a.kind) {
    case ArgKind::buffer:
      return KernelArg::buffer(XrtDevice::bo(a.tensor->buffer().memory()), a.tensor->offset(), a.tensor->nbytes(),
                               a.written);
    case ArgKind::i32: return as(int{});
    case ArgKind::u32: return as(uint32_t{});
    case ArgKind::i64: return as(int64_t{});
    case ArgKind::u64: return as(uint64_t{});
    case ArgKind::f32: return as(float{});
  }
  return {};
}

void run_core(const OpCall& c) {
  XrtDevice& d = static_cast<XrtDevice&>(c.device);
  const CoreKernel& k = d.cores().of(c.op);
  const XrtDriver driver(d.card());
  CoreCall call(c, driver);
  bind(k, call);
  std::vector<KernelArg> args;
  args.reserve(call.args().size());
  for (const CoreArg& a : call.args()) args.push_back(kernel_arg(a));
  d.card().start(k.core, args);
}

}  // namespace

void register_xrt_kernels(XrtDevice& d) {
  d.cores().register_on(d, run_core, [&](const char* core) { return d.card().has_kernel(core); });
}

}  // namespace tandem::fpga
