// What a backend implements. Nothing outside a backend's folder needs this header except the
// core; users see only Device, Buffer/Tensor, Stream/Event and ops.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tandem/device.h"
#include "tandem/op.h"

namespace tandem {

/// A kernel: runs one op call on the call's stream. May throw Error (e.g. bad label values).
using KernelFn = void (*)(const OpCall&);
/// Returns nullptr when the kernel handles the call, else why not ("dtype f16").
using KernelSupportsFn = const char* (*)(const OpCall&);

struct Kernel {
  KernelFn run = nullptr;
  KernelSupportsFn unsupported = nullptr;  ///< optional: nullptr means every valid call
};

/// The kernels of one backend, as its kernel files list them at static initialization: each
/// kernel file registers its kernels with one TANDEM_KERNEL line beside each, and the backend's
/// devices take the whole list when they start. (The backend libraries are linked whole, so
/// no kernel file is dropped for want of a reference.)
class KernelList {
 public:
  struct Entry {
    const OpDesc* op;
    Kernel kernel;
  };
  int add(const OpDesc& op, Kernel kernel) {
    entries_.push_back({&op, kernel});
    return static_cast<int>(entries_.size());
  }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

/// TANDEM_KERNEL(cpu_kernels, gemm, gemm_kernel[, unsupported_fn]): registers a kernel for
/// opdesc::<op> in the list that `list()` returns (a function, so that the list exists before
/// the first registration whatever the order of static initialization).
#define TANDEM_KERNEL(list, op, ...)                      \
  [[maybe_unused]] static const int tandem_kernel_##op = \
      (list)().add(::tandem::opdesc::op, ::tandem::Kernel{__VA_ARGS__})

class EventImpl {
 public:
  virtual ~EventImpl() = default;
  virtual bool ready() = 0;
  /// True when complete before the timeout.
  virtual bool wait_for(std::chrono::nanoseconds timeout) = 0;
};

class DeviceBuffer;

class StreamImpl {
 public:
  virtual ~StreamImpl() = default;
  virtual void synchronize() = 0;
  virtual std::shared_ptr<EventImpl> record() = 0;
  virtual void wait(EventImpl& event) = 0;
  /// Stream-ordered copies between host memory and the stream's device (tandem::copy with a
  /// stream). A backend that queues them returns true: from host, the source may be reused once
  /// the call returns (the backend stages it); to host, the destination holds the bytes once the
  /// stream's work up to the copy is complete. false: the backend has no queued copies, and
  /// tandem::copy falls back to synchronize + the device's synchronous copy.
  virtual bool copy_from_host(const DeviceBuffer& /*dst*/, size_t /*offset*/, const void* /*src*/, size_t /*bytes*/) {
    return false;
  }
  virtual bool copy_to_host(void* /*dst*/, const DeviceBuffer& /*src*/, size_t /*offset*/, size_t /*bytes*/) {
    return false;
  }
};

/// The stream of a backend whose kernels run to completion inside dispatch (the CPU, C
/// simulation): always drained, so its events are complete when recorded and waiting on another
/// stream's event is the caller's host wait.
std::shared_ptr<StreamImpl> make_inline_stream();

/// Memory one backend allocated, owned by that backend: a subclass holds the backend's handle (a
/// cl_mem, an xrt::bo) and frees it when destroyed (never throwing). address() is what the
/// device's kernels dereference (host memory; a CUDA device pointer), or nullptr where memory is
/// reached only through the handle (OpenCL, XRT). The base class itself borrows memory
/// (Buffer::wrap_host) and frees nothing.
class DeviceBuffer {
 public:
  DeviceBuffer(void* address, size_t size) : address_(address), size_(size) {}
  virtual ~DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* address() const { return address_; }
  /// address() + offset, for backends whose memory has addresses.
  char* at(size_t offset) const { return static_cast<char*>(address_) + offset; }
  size_t size() const { return size_; }

 private:
  void* address_;
  size_t size_;
};

/// Host memory aligned to 64 bytes (for vector loads), for backends whose buffers live in host
/// memory; Error(out_of_memory) naming the device on failure.
std::unique_ptr<DeviceBuffer> host_buffer(size_t bytes, const std::string& device);

/// One device, owned by its backend for the life of the process.
class DeviceImpl {
 public:
  DeviceImpl(DeviceKind kind, int index, DeviceProps props);
  virtual ~DeviceImpl() = default;
  DeviceImpl(const DeviceImpl&) = delete;
  DeviceImpl& operator=(const DeviceImpl&) = delete;

  DeviceKind kind() const { return kind_; }
  int index() const { return index_; }
  const std::string& id() const { return id_; }
  const DeviceProps& props() const { return props_; }

  /// Bytes of this device's buffers alive now (see Device::memory_in_use); kept by Buffer.
  uint64_t memory_in_use() const { return in_use_.load(std::memory_order_relaxed); }
  void count_in_use(int64_t delta) { in_use_.fetch_add(static_cast<uint64_t>(delta), std::memory_order_relaxed); }

  /// Throws Error(out_of_memory) on failure; the buffer frees its memory when destroyed.
  virtual std::unique_ptr<DeviceBuffer> allocate(size_t bytes) = 0;
  /// Byte ranges of this device's buffers (offset + bytes within the buffer, checked by Tensor).
  virtual void memset(const DeviceBuffer& dst, size_t offset, int value, size_t bytes) = 0;
  /// Synchronous copies: complete, and ordered after the device's queued work, on return.
  virtual void copy_from_host(const DeviceBuffer& dst, size_t offset, const void* host_src, size_t bytes) = 0;
  virtual void copy_to_host(void* host_dst, const DeviceBuffer& src, size_t offset, size_t bytes) = 0;
  virtual void copy_on_device(const DeviceBuffer& dst, size_t dst_offset, const DeviceBuffer& src, size_t src_offset,
                              size_t bytes) = 0;
  virtual std::shared_ptr<StreamImpl> create_stream() = 0;
  /// Modeled devices: device seconds spent so far, by the performance model.
  virtual double modeled_seconds() const { return 0; }
  /// Modeled devices: host wall time spent simulating their kernels and copies (to take out of a
  /// measured time the modeled time replaces). 0 elsewhere.
  virtual double simulation_seconds() const { return 0; }

  void register_kernel(const OpDesc& op, Kernel kernel);
  /// Registers every kernel of the list.
  void register_kernels(const KernelList& list) {
    for (const KernelList::Entry& e : list.entries()) register_kernel(*e.op, e.kernel);
  }
  /// The kernel for an op, or nullptr: a lookup by the op's dense id.
  const Kernel* kernel(const OpDesc& op) const {
    return op.id < kernels_.size() && kernels_[op.id].run ? &kernels_[op.id] : nullptr;
  }

 protected:
  DeviceProps props_;

 private:
  DeviceKind kind_;
  int index_;
  std::string id_;
  std::vector<Kernel> kernels_;
  std::atomic<uint64_t> in_use_{0};
};

/// A backend: a name, the libraries it runs on, and its devices.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  /// "OpenBLAS 0.3.21 (OpenMP, 2 threads)".
  virtual std::string version() const = 0;
  virtual std::vector<DeviceImpl*> devices() = 0;
};

/// Adds a backend and its devices. Called by init code for each compiled-in backend.
void register_backend(std::unique_ptr<Backend> backend);
/// Backends registered so far (initializing the compiled-in ones on first use).
std::vector<const Backend*> backends();

}  // namespace tandem
