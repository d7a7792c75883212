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
#include <mutex>
#include <vector>
#include <span>
#include <string>
#include <type_traits>

#include "manifest.h"
#include "tandem/backend.h"
#include "tandem/error.h"

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

/// A started run of a kernel. Completes through wait (at most the card's timeout), which also
/// copies staged outputs home; the buffers it reads and writes order later work against it.
class XrtRun {
 public:
  struct Use {
    const XrtBuffer* buffer;
    size_t offset, bytes;
    bool written;
  };
  struct Staged {
    ::xrt::bo tmp, home;
    size_t bytes, offset;
  };
  XrtRun(::xrt::run run, std::string kernel, std::vector<Use> uses, std::vector<Staged> copy_back, std::string device,
         std::chrono::milliseconds timeout)
      : run_(std::move(run)),
        kernel_(std::move(kernel)),
        uses_(std::move(uses)),
        copy_back_(std::move(copy_back)),
        device_(std::move(device)),
        timeout_(timeout) {}
  /// Whether the card has finished it (no wait).
  bool done() const;
  /// Waits for it; Error(timeout) or Error(device) naming the kernel when it did not complete.
  /// Once waited, later calls return at once (or throw the same failure again).
  void wait();
  /// Whether work touching [offset, offset + bytes) of b (writing it when `writes`) must wait for
  /// this run: it writes what is read or written, or reads what is written.
  bool conflicts(const XrtBuffer& b, size_t offset, size_t bytes, bool writes) const;
  const std::string& kernel() const { return kernel_; }

 private:
  ::xrt::run run_;
  std::string kernel_;
  std::vector<Use> uses_;
  std::vector<Staged> copy_back_;
  std::string device_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;  // wait() from several threads
  bool waited_ = false;
  std::string failure_;
  ErrorKind failure_kind_ = ErrorKind::device;
};

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

  /// Starts a kernel without waiting for it: arguments by index, staged to the argument's bank
  /// when needed. It starts once the pending runs it depends on (by the buffers it reads and
  /// writes) are done; independent runs proceed concurrently, as the card's compute units allow.
  std::shared_ptr<XrtRun> start(const std::string& kernel, std::span<const KernelArg> args);
  /// start, then wait: Error(timeout) naming the kernel when it does not finish in time,
  /// Error(device) when it fails.
  void launch(const std::string& kernel, std::span<const KernelArg> args);
  /// Waits for every pending run (the first failure is thrown, after all are waited for).
  void finish();
  /// The runs started and not yet waited for.
  std::vector<std::shared_ptr<XrtRun>> pending();

 private:
  void check_range(const XrtBuffer& b, size_t offset, size_t bytes, const char* what) const;
  // Waits for the pending runs that touch the range (host copies: writes when the copy writes).
  void wait_for_users(const XrtBuffer& b, size_t offset, size_t bytes, bool writes);

  std::string id_;
  Manifest manifest_;
  std::string xclbin_path_;
  std::chrono::milliseconds timeout_;
  ::xrt::device device_;
  std::map<std::string, ::xrt::kernel> kernels_;
  int default_bank_ = 0;
  std::atomic<uint64_t> staged_args_{0};
  std::mutex pending_mutex_;
  std::vector<std::shared_ptr<XrtRun>> pending_;
};

}  // namespace tandem::fpga
