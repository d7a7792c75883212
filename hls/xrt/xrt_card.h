// One card (or XRT emulation device) with a validated xclbin loaded: its kernels, buffers
// (xrt::bo, each in one memory bank), host<->device copies, and kernel launches that wait with
// a timeout. Internal to tandem_xrt (includes XRT headers); the runtime sees it through the
// fpga-xrt backend.
#pragma once

#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

#include <array>
#include <chrono>
#include <cstring>
#include <atomic>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <type_traits>

#include "manifest.h"
#include "tandem/backend.h"

namespace tandem::fpga {

/// A buffer object of the card: one xrt::bo in one memory bank (whole pages: at least size()
/// bytes). Freed when destroyed.
class XrtBuffer final : public DeviceBuffer {
 public:
  XrtBuffer(::xrt::bo bo, int bank, size_t size) : DeviceBuffer(nullptr, size), bo_(std::move(bo)), bank_(bank) {}
  ::xrt::bo& bo() const { return bo_; }  // XRT's calls are not const; the handle is
  int bank() const { return bank_; }

 private:
  mutable ::xrt::bo bo_;
  int bank_;
};

/// One kernel argument: a region of a buffer object, or a scalar of the exact C type of the
/// core's parameter.
struct KernelArg {
  const XrtBuffer* buffer_ = nullptr;
  size_t offset = 0;
  size_t bytes = 0;
  bool written = false;  ///< the kernel writes it (copied back when staged)
  std::array<unsigned char, 8> value{};
  size_t value_size = 0;

  static KernelArg buffer(const XrtBuffer& b, size_t offset, size_t bytes, bool written) {
    return {&b, offset, bytes, written, {}, 0};
  }
  template <class T>
  static KernelArg scalar(T v) {
    static_assert(std::is_arithmetic_v<T> && sizeof(T) <= 8);
    KernelArg a;
    std::memcpy(a.value.data(), &v, sizeof(T));
    a.value_size = sizeof(T);
    return a;
  }
};

/// Turns the state a run's wait returned into success or an Error naming the device and kernel:
/// ERT_CMD_STATE_TIMEOUT → Error(timeout), any other state but completed → Error(device).
void check_run_state(ert_cmd_state state, const std::string& device, const std::string& kernel,
                     std::chrono::milliseconds timeout);

class XrtCard {
 public:
  /// Devices XRT can open, or 0 with `why` set (XRT not set up, no card). XRT's emulation shims
  /// (XCL_EMULATION_MODE) open device 0 but do not enumerate it; they count as one.
  static unsigned count(std::string& why);

  /// Opens device `index`, reads and validates the xclbin against the manifest (Error naming the
  /// file, kernel and argument when they disagree), loads it and creates its kernels.
  XrtCard(unsigned index, const std::string& xclbin_path, Manifest manifest, std::chrono::milliseconds timeout);

  const std::string& id() const { return id_; }
  const Manifest& manifest() const { return manifest_; }
  const std::string& xclbin_path() const { return xclbin_path_; }
  bool has_kernel(const std::string& name) const { return kernels_.count(name) != 0; }
  /// The memory bank (XRT group id) of a kernel argument, from the xclbin's connectivity.
  int bank_of(const std::string& kernel, int arg) const;
  int default_bank() const { return default_bank_; }
  /// Launches that needed a device-side staging copy because a buffer was not in the bank its
  /// argument is wired to.
  uint64_t staged_args() const { return staged_args_; }

  /// A buffer of `bytes` in the default bank. Throws Error(out_of_memory).
  std::unique_ptr<XrtBuffer> allocate(size_t bytes);
  /// A buffer in a given bank (tests; kernels whose arguments sit in other banks).
  std::unique_ptr<XrtBuffer> allocate_in(size_t bytes, int bank);
  /// Byte ranges [offset, offset + bytes) of buffers; a range past the buffer's end is
  /// Error(invalid_argument).
  void write(const XrtBuffer& dst, size_t offset, const void* src, size_t bytes);
  void read(void* dst, const XrtBuffer& src, size_t offset, size_t bytes);
  void fill(const XrtBuffer& dst, size_t offset, int value, size_t bytes);
  void copy(const XrtBuffer& dst, size_t dst_offset, const XrtBuffer& src, size_t src_offset, size_t bytes);

  /// Runs a kernel to completion: arguments by index, staged to the argument's bank when needed,
  /// then waits at most the card's timeout. Throws Error(timeout) naming the kernel when it does
  /// not finish in time, Error(device) when it fails.
  void launch(const std::string& kernel, std::span<const KernelArg> args);

 private:
  void check_range(const XrtBuffer& b, size_t offset, size_t bytes, const char* what) const;

  std::string id_;
  Manifest manifest_;
  std::string xclbin_path_;
  std::chrono::milliseconds timeout_;
  ::xrt::device device_;
  std::map<std::string, ::xrt::kernel> kernels_;
  int default_bank_ = 0;
  std::atomic<uint64_t> staged_args_{0};
};

}  // namespace tandem::fpga
