#include "fpga_sim.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "../model/perf_model.h"
#include "binding.h"
#include "tandem/error.h"
#include "tandem/ops.h"

namespace tandem::fpga {
namespace {

DeviceProps sim_props(const CardProfile& c) {
  const TileConfig t = TileConfig::built();
  DeviceProps p;
  p.name = c.name + " (fpga-sim: C simulation, modeled timing)";
  p.memory_bytes = c.memory_bytes;
  p.peak_flops_f32 = 2.0 * t.tn * c.clock_hz;  // the MAC engine's adders, one each per cycle
  p.mem_bandwidth = c.banks * c.bank_bw;
  p.compute_units = 1;
  p.driver = "C simulation of hls/cores, model " + c.key;
  p.host_accessible = false;  // behind PCIe on a card: data moves by copies, which are timed
  p.modeled = true;
  return p;
}

class SimDevice;

// Adds the host time of a scope to the device's simulation time.
class HostTimer {
 public:
  explicit HostTimer(SimDevice& d) : device_(d), start_(std::chrono::steady_clock::now()) {}
  ~HostTimer();

 private:
  SimDevice& device_;
  std::chrono::steady_clock::time_point start_;
};

class SimDevice final : public DeviceImpl {
 public:
  SimDevice(int index, const CardProfile& card);
  const CoreKernels& cores() const { return cores_; }
  const CardProfile& card() const { return card_; }
  void charge(double seconds) { modeled_ += seconds; }
  double modeled_seconds() const override { return modeled_; }
  void simulated(double host_seconds) { simulation_ += host_seconds; }
  double simulation_seconds() const override { return simulation_; }

  // The card's memory, simulated in host memory.
  std::unique_ptr<DeviceBuffer> allocate(size_t bytes) override { return host_buffer(bytes, id()); }
  void memset(const DeviceBuffer& dst, size_t offset, int value, size_t bytes) override {
    const HostTimer timer(*this);
    std::memset(dst.at(offset), value, bytes);
    charge(static_cast<double>(bytes) / props().mem_bandwidth);
  }
  void copy_from_host(const DeviceBuffer& dst, size_t offset, const void* src, size_t bytes) override {
    const HostTimer timer(*this);
    std::memmove(dst.at(offset), src, bytes);
    charge(transfer_seconds(card_, static_cast<double>(bytes)));
  }
  void copy_to_host(void* dst, const DeviceBuffer& src, size_t offset, size_t bytes) override {
    const HostTimer timer(*this);
    std::memmove(dst, src.at(offset), bytes);
    charge(transfer_seconds(card_, static_cast<double>(bytes)));
  }
  void copy_on_device(const DeviceBuffer& dst, size_t dst_offset, const DeviceBuffer& src, size_t src_offset,
                      size_t bytes) override {
    const HostTimer timer(*this);
    std::memmove(dst.at(dst_offset), src.at(src_offset), bytes);
    charge(2.0 * static_cast<double>(bytes) / props().mem_bandwidth);
  }
  std::shared_ptr<StreamImpl> create_stream() override { return make_inline_stream(); }

 private:
  const CardProfile& card_;
  CoreKernels cores_;
  std::atomic<double> modeled_{0.0}, simulation_{0.0};
};

HostTimer::~HostTimer() {
  device_.simulated(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
}

SimDevice& sim(const OpCall& c) { return static_cast<SimDevice&>(c.device); }

// The device's memory is host memory: a binding's reads are copies.
class SimDriver final : public CoreDriver {
 public:
  void read(const Tensor& t, void* host) const override { std::memcpy(host, t.data(), t.nbytes()); }
};

// Every op a core serves: its binding (hls/ops/), the core's C function on the arguments, and the
// modeled time charged; the host time counts as simulation.
void run_core(const OpCall& c) {
  SimDevice& d = sim(c);
  const HostTimer timer(d);
  const CoreKernel& k = d.cores().of(c.op);
  const SimDriver driver;
  CoreCall call(c, driver);
  bind(k, call);
  k.simulate(call.args());
  d.charge(call.modeled(d.card()));
}

SimDevice::SimDevice(int index, const CardProfile& card)
    : DeviceImpl(DeviceKind::fpga_sim, index, sim_props(card)), card_(card) {
  cores_.register_on(*this, run_core, [](const char*) { return true; });  // C simulation has every core
}

class SimBackend final : public Backend {
 public:
  explicit SimBackend(const std::vector<std::string>& cards) {
    for (const std::string& k : cards)
      devices_.push_back(std::make_unique<SimDevice>(static_cast<int>(devices_.size()), card(k)));
  }
  std::string name() const override { return "fpga-sim"; }
  std::string version() const override { return "C simulation of the HLS cores; timing modeled (hls/model)"; }
  std::vector<DeviceImpl*> devices() override {
    std::vector<DeviceImpl*> out;
    for (auto& d : devices_) out.push_back(d.get());
    return out;
  }

 private:
  std::vector<std::unique_ptr<SimDevice>> devices_;
};

}  // namespace

std::vector<std::string> sim_cards(const std::string& spec) {
  if (spec == "none") return {};
  std::vector<std::string> out;
  const std::string list = spec.empty() ? "u250" : spec;
  for (size_t at = 0;;) {
    const size_t comma = list.find(',', at);
    const std::string k = list.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (k.empty()) throw Error(ErrorKind::invalid_argument, "", "TANDEM_FPGA_SIM", "empty card name in '" + spec + "'");
    card(k);  // throws naming the known cards
    out.push_back(k);
    if (comma == std::string::npos) return out;
    at = comma + 1;
  }
}

std::unique_ptr<Backend> make_sim_backend() {
  const char* spec = std::getenv("TANDEM_FPGA_SIM");
  return std::make_unique<SimBackend>(sim_cards(spec ? spec : ""));
}

}  // namespace tandem::fpga
