// Devices: what a backend offers to run work on. A Device is a small value (a handle to a
// device owned by its backend for the life of the process); compare, copy and pass it freely.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

class DeviceImpl;
struct OpDesc;

enum class DeviceKind : uint8_t { cpu, cuda, opencl, fpga_xrt, fpga_sim };

/// "cpu", "cuda", "opencl", "fpga-xrt", "fpga-sim".
std::string_view device_kind_name(DeviceKind k);

struct DeviceProps {
  std::string name;              ///< e.g. the CPU model or GPU name
  uint64_t memory_bytes = 0;     ///< memory usable for buffers
  double peak_flops_f32 = 0;     ///< FLOP/s; nominal from the spec sheet or ISA, 0 = unknown
  double peak_flops_f16 = 0;     ///< FLOP/s for f16/bf16 math, 0 = unknown
  double mem_bandwidth = 0;      ///< bytes/s; 0 = unknown (calibration measures it)
  int compute_units = 0;         ///< cores, SMs, compute units
  int numa_node = -1;            ///< NUMA node the device is attached to; -1 = unknown
  std::string pci_address;       ///< "0000:3b:00.0"; empty where not a PCI device
  std::string driver;            ///< library or driver that runs its kernels, with version
  bool host_accessible = false;  ///< host code may read and write its buffers directly
  bool modeled = false;          ///< its timings come from a performance model, not hardware
  /// Why the device runs slower than its hardware allows, in one line (the CPU: OpenBLAS held
  /// to older kernels, tandem/blas.h); empty when nothing is known to hold it back.
  std::string slowdown;
};

class Device {
 public:
  Device() = default;
  explicit Device(DeviceImpl* impl) : impl_(impl) {}

  DeviceKind kind() const;
  int index() const;
  /// "cpu:0", "cuda:1".
  std::string id() const;
  const DeviceProps& props() const;
  /// Whether this device has a kernel for the op (a capability, asked before placing work).
  bool supports(const OpDesc& op) const;
  /// Bytes held now by this device's buffers (tensors) in this process: what a leak check
  /// compares before and after.
  uint64_t memory_in_use() const;
  /// Modeled devices (props().modeled): the device time its kernels and transfers have taken so
  /// far, by its performance model. 0 on devices whose time is measured.
  double modeled_seconds() const;
  /// Modeled devices: the host wall time spent simulating them so far (see modeled_seconds).
  double simulation_seconds() const;

  explicit operator bool() const { return impl_ != nullptr; }
  bool operator==(const Device& o) const = default;
  DeviceImpl* impl() const { return impl_; }

 private:
  DeviceImpl* impl_ = nullptr;
};

/// Every device of every compiled-in backend, CPU first. Initializes the backends on first use.
std::vector<Device> devices();

/// The device with this id ("cpu:0"; a bare kind means index 0). Throws Error naming the
/// devices that do exist when there is none.
Device find_device(std::string_view id);

/// The host CPU device (always present).
Device cpu_device();

/// Threads the CPU backend's kernels use (OpenMP and OpenBLAS share them); n ≥ 1. Ranks that
/// share a machine divide its cores this way. Returns the previous count.
int set_cpu_threads(int n);

}  // namespace tandem
