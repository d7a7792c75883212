#include "tandem/device.h"

#include <cstdlib>

#include "tandem/backend.h"
#include "tandem/error.h"

namespace tandem {

std::string_view device_kind_name(DeviceKind k) {
  switch (k) {
    case DeviceKind::cpu:
      return "cpu";
    case DeviceKind::cuda:
      return "cuda";
    case DeviceKind::opencl:
      return "opencl";
    case DeviceKind::fpga_xrt:
      return "fpga-xrt";
    case DeviceKind::fpga_sim:
      return "fpga-sim";
  }
  return "?";
}

DeviceImpl::DeviceImpl(DeviceKind kind, int index, DeviceProps props)
    : props_(std::move(props)),
      kind_(kind),
      index_(index),
      id_(std::string(device_kind_name(kind)) + ":" + std::to_string(index)) {}

void DeviceImpl::register_kernel(const OpDesc& op, Kernel kernel) {
  if (kernels_.size() <= op.id) kernels_.resize(op.id + 1);
  kernels_[op.id] = kernel;
}

namespace {

DeviceImpl& checked(DeviceImpl* impl) {
  if (impl == nullptr) throw Error(ErrorKind::invalid_argument, "", "device", "empty Device handle");
  return *impl;
}

}  // namespace

DeviceKind Device::kind() const { return checked(impl_).kind(); }
int Device::index() const { return checked(impl_).index(); }
std::string Device::id() const { return impl_ ? impl_->id() : std::string("(no device)"); }
const DeviceProps& Device::props() const { return checked(impl_).props(); }
bool Device::supports(const OpDesc& op) const { return impl_ && impl_->kernel(op) != nullptr; }
uint64_t Device::memory_in_use() const { return checked(impl_).memory_in_use(); }
double Device::modeled_seconds() const { return checked(impl_).modeled_seconds(); }
double Device::simulation_seconds() const { return checked(impl_).simulation_seconds(); }

namespace {
class HostBuffer final : public DeviceBuffer {
 public:
  using DeviceBuffer::DeviceBuffer;
  ~HostBuffer() override { std::free(address()); }
};
}  // namespace

std::unique_ptr<DeviceBuffer> host_buffer(size_t bytes, const std::string& device) {
  const size_t rounded = (bytes + 63) / 64 * 64;  // aligned_alloc needs a multiple of the alignment
  void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (p == nullptr)
    throw Error(ErrorKind::out_of_memory, device, "allocate", "cannot allocate " + std::to_string(bytes) + " bytes");
  return std::make_unique<HostBuffer>(p, bytes);
}

}  // namespace tandem
