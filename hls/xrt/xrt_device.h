// The fpga-xrt device: a DeviceImpl over one XrtCard. Internal to tandem_xrt.
#pragma once

#include <vector>

#include "binding.h"
#include "tandem/backend.h"
#include "xrt_card.h"

namespace tandem::fpga {

class XrtDevice final : public DeviceImpl {
 public:
  /// Opens card `index` with the xclbin (validated against the manifest) and registers kernels.
  XrtDevice(unsigned index, const std::string& xclbin, const Manifest& manifest, std::chrono::milliseconds timeout);

  XrtCard& card() { return card_; }
  CoreKernels& cores() { return cores_; }

  std::unique_ptr<DeviceBuffer> allocate(size_t bytes) override { return card_.allocate(bytes); }
  void memset(const DeviceBuffer& dst, size_t offset, int value, size_t bytes) override {
    card_.fill(bo(dst), offset, value, bytes);
  }
  void copy_from_host(const DeviceBuffer& dst, size_t offset, const void* src, size_t bytes) override {
    card_.write(bo(dst), offset, src, bytes);
  }
  void copy_to_host(void* dst, const DeviceBuffer& src, size_t offset, size_t bytes) override {
    card_.read(dst, bo(src), offset, bytes);
  }
  void copy_on_device(const DeviceBuffer& dst, size_t dst_offset, const DeviceBuffer& src, size_t src_offset,
                      size_t bytes) override {
    card_.copy(bo(dst), dst_offset, bo(src), src_offset, bytes);
  }
  /// This device's buffers are the card's.
  static const XrtBuffer& bo(const DeviceBuffer& b) { return static_cast<const XrtBuffer&>(b); }
  std::shared_ptr<StreamImpl> create_stream() override;

 private:
  XrtCard card_;
  CoreKernels cores_;
};

/// Registers a kernel for each op whose core the card's xclbin holds.
void register_xrt_kernels(XrtDevice& device);

}  // namespace tandem::fpga
