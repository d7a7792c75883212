// The opencl device (internal to tandem_opencl): buffers are cl_mem objects (ClBuffer), one
// in-order command queue per stream, programs built once per device.
#pragma once

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tandem/backend.h"
#include "tandem/numeric/philox.h"
#include "tandem/error.h"

namespace tandem::opencl {

/// "CL_OUT_OF_RESOURCES (-5)".
std::string cl_error_name(cl_int err);

/// An in-order command queue: one per stream, one more per device for copies.
class ClQueue {
 public:
  ClQueue(cl_context ctx, cl_device_id dev, const std::string& device_id);
  ~ClQueue();
  ClQueue(const ClQueue&) = delete;
  ClQueue& operator=(const ClQueue&) = delete;
  cl_command_queue get() const { return queue_; }
  /// clFinish; an asynchronous failure of an earlier command throws Error naming `what`.
  void finish(const char* what);

 private:
  cl_command_queue queue_ = nullptr;
  std::string device_id_;
};

/// A buffer view as kernels take it: the cl_mem and the offset of the first byte.
struct ClRef {
  cl_mem mem;
  size_t offset;
};

/// An opencl device's allocation: the cl_mem, released when the buffer goes (OpenCL frees it
/// once the commands queued on it are done).
class ClBuffer final : public DeviceBuffer {
 public:
  ClBuffer(cl_mem mem, size_t size) : DeviceBuffer(nullptr, size), mem_(mem) {}
  ~ClBuffer() override { clReleaseMemObject(mem_); }
  cl_mem mem() const { return mem_; }

 private:
  cl_mem mem_;
};

/// The cl_mem and byte offset of a tensor of an opencl device.
inline ClRef cl_ref(const Tensor& t) { return {static_cast<const ClBuffer&>(t.buffer().memory()).mem(), t.offset()}; }
inline ClRef cl_ref(const DeviceBuffer& b, size_t offset) { return {static_cast<const ClBuffer&>(b).mem(), offset}; }

class ClDevice final : public DeviceImpl {
 public:
  ClDevice(int index, cl_platform_id platform, cl_device_id dev);
  ~ClDevice() override;

  std::unique_ptr<DeviceBuffer> allocate(size_t bytes) override;
  void memset(const DeviceBuffer& dst, size_t offset, int value, size_t bytes) override;
  void copy_from_host(const DeviceBuffer& dst, size_t offset, const void* host_src, size_t bytes) override;
  void copy_to_host(void* host_dst, const DeviceBuffer& src, size_t offset, size_t bytes) override;
  void copy_on_device(const DeviceBuffer& dst, size_t dst_offset, const DeviceBuffer& src, size_t src_offset,
                      size_t bytes) override;
  std::shared_ptr<StreamImpl> create_stream() override;

  cl_context context() const { return context_; }
  cl_device_id cl_device() const { return device_; }
  /// The built program of an embedded ops/<name>.cl (built on first use, then cached).
  cl_program program(const std::string& name);
  int program_builds() const { return builds_; }
  /// Builds source with the device's options; throws Error(device) with the build log.
  cl_program build(const std::string& name, const std::string& source);
  /// Side length of the square work-groups the tiled kernels use (16, or 8 on small devices).
  int tile() const { return tile_; }
  /// Whether the device has cl_khr_fp64: kernels that sum in double as the CPU does need it.
  bool fp64() const { return fp64_; }

 private:
  // Host copies must see the work streams have queued before them (callers read results
  // without synchronizing, as on the CPU), and must not overwrite what queued kernels still read.
  void finish_streams(const char* what);

  cl_device_id device_;
  cl_context context_ = nullptr;
  std::unique_ptr<ClQueue> copy_queue_;
  int tile_ = 16;
  bool fp64_ = false;

  mutable std::mutex mutex_;
  std::vector<std::weak_ptr<ClQueue>> queues_;

  std::mutex program_mutex_;
  std::map<std::string, cl_program> programs_;
  int builds_ = 0;
};

/// The stream of an opencl device: kernels are enqueued, not waited for.
class ClStream final : public StreamImpl {
 public:
  ClStream(ClDevice& device, std::shared_ptr<ClQueue> queue) : device_(device), queue_(std::move(queue)) {}
  ~ClStream() override;
  void synchronize() override;
  std::shared_ptr<EventImpl> record() override;
  void wait(EventImpl& event) override;
  /// Non-blocking writes and reads on the stream's queue; a write's source is staged first, so
  /// the caller may reuse it at once.
  bool copy_from_host(const DeviceBuffer& dst, size_t offset, const void* src, size_t bytes) override;
  bool copy_to_host(void* dst, const DeviceBuffer& src, size_t offset, size_t bytes) override;
  cl_command_queue queue() const { return queue_->get(); }
  ClDevice& device() const { return device_; }

 private:
  // Staged sources of queued writes, each freed once its write completes.
  struct Staged {
    cl_event done;
    std::vector<unsigned char> bytes;
  };
  void release_completed(bool all);

  ClDevice& device_;
  std::shared_ptr<ClQueue> queue_;
  std::mutex staged_mutex_;
  std::vector<Staged> staged_;
};

/// Kernel arguments for one launch: a tensor becomes (buffer, element offset).
class Launch {
 public:
  /// Looks up `kernel` in the program of ops/<program>.cl on the call's device.
  Launch(const OpCall& call, const char* program, const char* kernel);
  ~Launch();
  Launch(const Launch&) = delete;
  Launch& operator=(const Launch&) = delete;

  Launch& arg(const Tensor& t);
  Launch& arg(cl_mem mem);  ///< a scratch buffer, from offset 0
  /// A random key, as the KEY parameters of common.cl take it.
  Launch& key(const numeric::RandomKey& k) {
    return scalar<cl_ulong>(k.seed).scalar<cl_uint>(k.step).scalar<cl_uint>(k.rank).scalar<cl_ulong>(k.offset);
  }
  /// Per-dimension values (extents, strides) as one long8, the unused ones 0: kernels unpack it
  /// into a private array with common.cl's DIMS to index it.
  Launch& dims(const std::array<int64_t, Shape::max_rank>& v) {
    static_assert(Shape::max_rank <= 8);
    cl_long8 r{};
    for (size_t i = 0; i < v.size(); ++i) r.s[i] = v[i];
    set(sizeof r, &r);
    return *this;
  }
  template <class T>
  Launch& scalar(T v) {
    set(sizeof(T), &v);
    return *this;
  }
  /// Enqueues on the call's stream over `global` work-items (rounded up to `local` when given).
  void run(std::vector<size_t> global, std::vector<size_t> local = {});

 private:
  void set(size_t size, const void* value);
  const OpCall& call_;
  ClStream& stream_;
  cl_kernel kernel_ = nullptr;
  bool owned_ = false;     // a kernel of its own, released with the launch
  bool* busy_ = nullptr;   // else the per-thread cache's entry, marked in use while set up
  std::string name_;
  cl_uint next_ = 0;
};

/// A scratch buffer for one call, released once its commands complete (OpenCL retains it).
class Scratch {
 public:
  Scratch(const OpCall& call, size_t bytes);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  cl_mem get() const { return mem_; }

 private:
  cl_mem mem_ = nullptr;
};

ClStream& cl_stream(const OpCall& call);
ClDevice& cl_device(const OpCall& call);
/// A tensor's element count, as a count of work-items.
inline size_t n_of(const Tensor& t) { return static_cast<size_t>(t.numel()); }

/// Reads a tensor back on the call's stream (after the work queued before it): for checks of
/// indices and labels that must fail before anything is written, as on the CPU.
void read_back(const OpCall& call, const Tensor& t, void* host);
/// Enqueues dst = src converted to dst's dtype (the cast op; ops/elementwise.cpp).
void cast_into(const OpCall& call, const Tensor& src, const Tensor& dst);

/// The kernels of ops/*.cpp, each registered by a TANDEM_KERNEL line beside it.
KernelList& opencl_kernels();

/// The embedded ops/*.cl and common.cl sources (generated at build time): name → text, or nullptr.
const char* embedded_source(const std::string& name);

}  // namespace tandem::opencl
