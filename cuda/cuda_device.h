// The cuda device (internal to tandem_cuda): stream-ordered memory from the device's pool,
// host copies through pinned staging, one CUDA stream per runtime stream.
//
// Ordering without bookkeeping: every runtime stream is a *blocking* CUDA stream, and allocation,
// free, memset and copies go on the legacy default stream, which CUDA orders after all earlier
// work of every blocking stream of the device and before all later work. So a buffer freed while
// kernels still read it is reused only after they finish, a new buffer is ready for any stream,
// and a host read sees what every stream queued before it (as on the CPU, callers read results
// without synchronizing).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "check.h"
#include "tandem/backend.h"

namespace tandem::cuda {

/// Makes a CUDA device current for the scope (kernels launch on the current device), then
/// restores the previous one.
class DeviceGuard {
 public:
  DeviceGuard(int ordinal, const std::string& device_id);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
  bool changed_ = false;
};

/// Whether TANDEM_CUDA_TF32=1: f32 gemm and convolutions may then use TF32 tensor cores. Off by
/// default, so f32 results match the CPU within f32 rounding.
bool tf32_enabled();

class CudaDevice final : public DeviceImpl {
 public:
  CudaDevice(int index, int ordinal, DeviceProps props);
  ~CudaDevice() override;

  /// A CudaBuffer: the device pointer, returned to the pool (stream-ordered) when destroyed.
  std::unique_ptr<DeviceBuffer> allocate(size_t bytes) override;
  void memset(const DeviceBuffer& dst, size_t offset, int value, size_t bytes) override {
    memset_at(dst.at(offset), value, bytes);
  }
  void copy_from_host(const DeviceBuffer& dst, size_t offset, const void* src, size_t bytes) override {
    copy_from_host_at(dst.at(offset), src, bytes);
  }
  void copy_to_host(void* dst, const DeviceBuffer& src, size_t offset, size_t bytes) override {
    copy_to_host_at(dst, src.at(offset), bytes);
  }
  void copy_on_device(const DeviceBuffer& dst, size_t dst_offset, const DeviceBuffer& src, size_t src_offset,
                      size_t bytes) override {
    copy_on_device_at(dst.at(dst_offset), src.at(src_offset), bytes);
  }
  /// Frees a pointer of allocate() after the work queued before it (CudaBuffer's destructor).
  void free_async(void* ptr) noexcept;
  std::shared_ptr<StreamImpl> create_stream() override;

  int ordinal() const { return ordinal_; }
  /// The pool allocations come from (nullptr where the device has no memory pools).
  cudaMemPool_t pool() const { return pool_; }
  // Device addresses (CudaBuffer::address() + offset, ranges checked by Tensor).
  void memset_at(void* dst, int value, size_t bytes);
  void copy_from_host_at(void* dst, const void* host_src, size_t bytes);
  void copy_to_host_at(void* host_dst, const void* src, size_t bytes);
  void copy_on_device_at(void* dst, const void* src, size_t bytes);

 private:
  // Two pinned host buffers: pageable host memory is copied through them in chunks, the memcpy
  // of one chunk overlapping the DMA of the other (cuda_copy.cpp).
  struct Staging {
    static constexpr size_t chunk = size_t{4} << 20;
    void* buf[2] = {nullptr, nullptr};
    cudaEvent_t done[2] = {nullptr, nullptr};  ///< the last DMA from/to each buffer
    ~Staging();
  };
  Staging& staging();  // created on first use; call with staging_mutex_ held
  void stage_in(char* dst, const char* src, size_t bytes);
  void stage_out(char* dst, const char* src, size_t bytes);

  int ordinal_;
  cudaMemPool_t pool_ = nullptr;
  std::mutex staging_mutex_;
  std::unique_ptr<Staging> staging_;
};

/// A runtime stream: one blocking CUDA stream, with the cuBLAS and cuDNN handles bound to it
/// (created on first use: creating a cuDNN handle costs tens of milliseconds).
class CudaStream final : public StreamImpl {
 public:
  explicit CudaStream(CudaDevice& device);
  ~CudaStream() override;
  void synchronize() override;
  std::shared_ptr<EventImpl> record() override;
  void wait(EventImpl& event) override;

  cudaStream_t get() const { return stream_; }
  CudaDevice& device() const { return device_; }
  cublasHandle_t cublas();
  cudnnHandle_t cudnn();
  /// 64 bytes of pinned host memory for reading back check results on this stream.
  void* readback();
  /// Asynchronous on the stream, through pinned staging blocks (cuda_copy.cpp): a write's source
  /// is copied into one before the call returns; a read lands in one and a host function queued
  /// after it copies it to the destination, in stream order.
  bool copy_from_host(const DeviceBuffer& dst, size_t offset, const void* src, size_t bytes) override;
  bool copy_to_host(void* dst, const DeviceBuffer& src, size_t offset, size_t bytes) override;
  /// What a queued host function copies once a read has landed in its pinned block.
  struct Delivery {
    void* dst;
    const void* src;
    size_t bytes;
  };

 private:
  // A pinned block in flight until `done` (recorded after its copy) completes, then reused.
  struct Pinned {
    void* host = nullptr;
    size_t bytes = 0;
    cudaEvent_t done = nullptr;
  };
  Pinned pinned(size_t bytes);  // a free block of at least `bytes`, marked in flight
  void recycle();                // blocks whose copies completed become free
  void release_pinned() noexcept;

  CudaDevice& device_;
  cudaStream_t stream_ = nullptr;
  std::mutex mutex_;
  cublasHandle_t cublas_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  void* readback_ = nullptr;
  std::mutex pinned_mutex_;
  std::vector<Pinned> in_flight_, free_;
};

/// A point in a CUDA stream; other streams wait for it on the device, the host by polling.
class CudaEvent final : public EventImpl {
 public:
  CudaEvent(cudaEvent_t event, int ordinal) : event_(event), ordinal_(ordinal) {}
  ~CudaEvent() override;
  bool ready() override;
  bool wait_for(std::chrono::nanoseconds timeout) override;
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_;
  int ordinal_;
};

/// The kernels of ops/*.cu, each registered by a TANDEM_KERNEL line beside it (list: ops/register.cpp).
KernelList& cuda_kernels();

}  // namespace tandem::cuda
