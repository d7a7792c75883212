#include "xrt_backend.h"

#include <version.h>  // XRT's: xrt_build_version

#include <cstdlib>
#include <vector>

#include "tandem/error.h"
#include "tandem/log.h"
#include "xrt_device.h"

namespace tandem::fpga {
namespace {

// The runs pending on the card when it was recorded. Each run waits at most the card's timeout,
// so a wait ends (in an Error naming the kernel) even when a kernel never completes.
class XrtEvent final : public EventImpl {
 public:
  explicit XrtEvent(std::vector<std::shared_ptr<XrtRun>> runs) : runs_(std::move(runs)) {}
  bool ready() override {
    for (const auto& r : runs_)
      if (!r->done()) return false;
    return true;
  }
  bool wait_for(std::chrono::nanoseconds) override {
    for (const auto& r : runs_) r->wait();
    return true;
  }

 private:
  std::vector<std::shared_ptr<XrtRun>> runs_;
};

// Kernels start asynchronously (XrtCard::start); the card orders each run after the pending
// runs it shares a buffer with, so the stream's order holds wherever it matters. Synchronize
// waits for the card's pending runs.
class XrtStream final : public StreamImpl {
 public:
  explicit XrtStream(XrtCard& card) : card_(card) {}
  void synchronize() override { card_.finish(); }
  std::shared_ptr<EventImpl> record() override { return std::make_shared<XrtEvent>(card_.pending()); }
  void wait(EventImpl& event) override { event.wait_for(std::chrono::hours(24)); }

 private:
  XrtCard& card_;
};

// What the manifest says about the card. Spec figures from UG1393/UG1120 (PLATFORM.md): one DDR4
// channel 19.25 GB/s, one HBM pseudo-channel 14.375 GB/s; buffers live in the default bank, so
// that bank's size and bandwidth are what a buffer gets. No FLOP/s figure: the cores' throughput
// depends on the build (calibration measures it).
DeviceProps props_for(const Manifest& m) {
  DeviceProps p;
  const char* emulation = std::getenv("XCL_EMULATION_MODE");
  p.name = "Alveo " + m.card + " (" + m.platform + ")";
  if (emulation != nullptr && *emulation != '\0')
    p.name += std::string(" [XRT ") + emulation +
              " emulation: " + (std::string(emulation) == "noop" ? "computes nothing" : "not hardware") + "]";
  p.memory_bytes = m.bank(m.default_bank)->size_bytes;
  p.mem_bandwidth = m.memory_type == "HBM" ? 14.375e9 : 19.25e9;
  for (const ManifestKernel& k : m.kernels) p.compute_units += k.instances;
  p.driver = std::string("XRT ") + xrt_build_version + ", " + std::to_string(m.kernel_clock_mhz) + " MHz kernels";
  p.host_accessible = false;  // the mapped host side of a bo is a shadow that needs a sync
  p.modeled = false;          // timings are measured on the card
  return p;
}

class XrtBackend final : public Backend {
 public:
  std::string name() const override { return "fpga-xrt"; }
  std::string version() const override { return std::string("XRT ") + xrt_build_version + xclbin_; }
  std::vector<DeviceImpl*> devices() override {
    std::vector<DeviceImpl*> out;
    for (auto& d : devices_) out.push_back(d.get());
    return out;
  }
  void add(std::unique_ptr<XrtDevice> d) {
    if (xclbin_.empty()) xclbin_ = " (" + d->card().xclbin_path() + ")";
    devices_.push_back(std::move(d));
  }

 private:
  std::string xclbin_;
  std::vector<std::unique_ptr<XrtDevice>> devices_;
};

}  // namespace

XrtDevice::XrtDevice(unsigned index, const std::string& xclbin, const Manifest& manifest,
                     std::chrono::milliseconds timeout)
    : DeviceImpl(DeviceKind::fpga_xrt, static_cast<int>(index), props_for(manifest)),
      card_(index, xclbin, manifest, timeout) {
  register_xrt_kernels(*this);
}

std::shared_ptr<StreamImpl> XrtDevice::create_stream() { return std::make_shared<XrtStream>(card_); }

XrtConfig XrtConfig::from_env() {
  XrtConfig c;
  if (const char* x = std::getenv("TANDEM_XCLBIN")) c.xclbin = x;
  if (const char* m = std::getenv("TANDEM_XCLBIN_MANIFEST")) c.manifest = m;
  if (const char* t = std::getenv("TANDEM_XRT_TIMEOUT_MS"); t != nullptr && *t != '\0') {
    char* end = nullptr;
    const long ms = std::strtol(t, &end, 10);
    if (*end != '\0' || ms <= 0)
      throw Error(ErrorKind::invalid_argument, "", "fpga-xrt",
                  std::string("TANDEM_XRT_TIMEOUT_MS must be a positive number of milliseconds, not '") + t + "'");
    c.timeout = std::chrono::milliseconds(ms);
  }
  return c;
}

std::unique_ptr<Backend> make_xrt_backend(const XrtConfig& config) {
  auto backend = std::make_unique<XrtBackend>();
  std::string why;
  const unsigned cards = XrtCard::count(why);
  if (cards == 0) {
    TANDEM_LOG(debug, "fpga-xrt: no devices: " << why);
    return backend;
  }
  if (config.xclbin.empty()) {
    TANDEM_LOG(info, "fpga-xrt: " << cards << " device(s), but TANDEM_XCLBIN names no xclbin: not used");
    return backend;
  }
  std::string manifest_path = config.manifest;
  if (manifest_path.empty()) {
    manifest_path = config.xclbin;
    const std::string ext = ".xclbin";
    if (manifest_path.size() > ext.size() && manifest_path.ends_with(ext))
      manifest_path.resize(manifest_path.size() - ext.size());
    manifest_path += ".json";
  }
  const Manifest manifest = load_manifest(manifest_path);
  for (unsigned i = 0; i < cards; ++i)
    backend->add(std::make_unique<XrtDevice>(i, config.xclbin, manifest, config.timeout));
  return backend;
}

std::unique_ptr<Backend> make_xrt_backend() { return make_xrt_backend(XrtConfig::from_env()); }

}  // namespace tandem::fpga
