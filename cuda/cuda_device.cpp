// Memory, streams and events of a cuda device; error reporting for CUDA, cuBLAS and cuDNN calls.
#include "cuda_device.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "tandem/error.h"
#include "tandem/log.h"

namespace tandem::cuda {
namespace {

// "cudaMemcpyAsync failed: invalid argument [cuda/cuda_copy.cpp:88]": the called function (the
// call's text up to its parenthesis) and the source position inside the repository.
std::string detail(const char* call, const std::string& why, const char* file, int line) {
  const std::string c(call), f(file);
  const size_t at = f.rfind("/cuda/");
  return c.substr(0, c.find('(')) + " failed: " + why + " [" + (at == std::string::npos ? f : f.substr(at + 1)) + ":" +
         std::to_string(line) + "]";
}

}  // namespace

void raise(cudaError_t err, const std::string& device, const std::string& op, const char* call, const char* file,
           int line) {
  const ErrorKind kind = err == cudaErrorMemoryAllocation ? ErrorKind::out_of_memory : ErrorKind::device;
  throw Error(kind, device, op, detail(call, cudaGetErrorString(err), file, line));
}

void raise(cublasStatus_t err, const std::string& device, const std::string& op, const char* call, const char* file,
           int line) {
  const ErrorKind kind = err == CUBLAS_STATUS_ALLOC_FAILED ? ErrorKind::out_of_memory : ErrorKind::device;
  throw Error(kind, device, op, detail(call, cublasGetStatusString(err), file, line));
}

void raise(cudnnStatus_t err, const std::string& device, const std::string& op, const char* call, const char* file,
           int line) {
  const ErrorKind kind = err == CUDNN_STATUS_ALLOC_FAILED ? ErrorKind::out_of_memory : ErrorKind::device;
  throw Error(kind, device, op, detail(call, cudnnGetErrorString(err), file, line));
}

DeviceGuard::DeviceGuard(int ordinal, const std::string& device_id) {
  TANDEM_CUDA_CHECK(device_id, "set device", cudaGetDevice(&previous_));
  if (previous_ != ordinal) {
    TANDEM_CUDA_CHECK(device_id, "set device", cudaSetDevice(ordinal));
    changed_ = true;
  }
}

DeviceGuard::~DeviceGuard() {
  if (changed_) cudaSetDevice(previous_);
}

bool tf32_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("TANDEM_CUDA_TF32");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return on;
}

CudaDevice::CudaDevice(int index, int ordinal, DeviceProps props)
    : DeviceImpl(DeviceKind::cuda, index, std::move(props)), ordinal_(ordinal) {
  DeviceGuard guard(ordinal_, id());
  int pools = 0;
  TANDEM_CUDA_CHECK(id(), "init", cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, ordinal_));
  if (pools != 0) {
    TANDEM_CUDA_CHECK(id(), "init", cudaDeviceGetDefaultMemPool(&pool_, ordinal_));
    // Keep freed memory reserved in the pool instead of returning it to the driver at every
    // synchronization: training allocates the same sizes step after step. An allocation that
    // fails trims the pool and retries (allocate()).
    uint64_t keep = UINT64_MAX;
    TANDEM_CUDA_CHECK(id(), "init", cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &keep));
  }
  register_kernels(cuda_kernels());
}

CudaDevice::~CudaDevice() = default;  // never destroyed in practice: the registry outlives main

namespace {
class CudaBuffer final : public DeviceBuffer {
 public:
  CudaBuffer(CudaDevice& device, void* ptr, size_t size) : DeviceBuffer(ptr, size), device_(device) {}
  ~CudaBuffer() override { device_.free_async(address()); }

 private:
  CudaDevice& device_;
};
}  // namespace

std::unique_ptr<DeviceBuffer> CudaDevice::allocate(size_t bytes) {
  DeviceGuard guard(ordinal_, id());
  const size_t size = std::max<size_t>(bytes, 1);  // a distinct address even for empty tensors
  void* p = nullptr;
  auto attempt = [&] { return pool_ ? cudaMallocAsync(&p, size, cudaStreamLegacy) : cudaMalloc(&p, size); };
  cudaError_t err = attempt();
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky; clear it before retrying
    // Pending frees (on any stream) may hold what is missing, and the pool keeps freed memory
    // reserved: let everything complete, give the reserve back to the driver, and try once more.
    TANDEM_CUDA_CHECK(id(), "allocate", cudaDeviceSynchronize());
    if (pool_) TANDEM_CUDA_CHECK(id(), "allocate", cudaMemPoolTrimTo(pool_, 0));
    err = attempt();
  }
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw Error(ErrorKind::out_of_memory, id(), "allocate",
                "cannot allocate " + std::to_string(bytes) + " bytes: " + cudaGetErrorString(err));
  }
  TANDEM_CUDA_CHECK(id(), "allocate", err);
  return std::make_unique<CudaBuffer>(*this, p, bytes);
}

void CudaDevice::free_async(void* ptr) noexcept {
  try {
    DeviceGuard guard(ordinal_, id());
    // On the legacy stream: the memory returns to the pool once every kernel queued before this
    // point, on any stream of the device, has finished with it.
    const cudaError_t err = pool_ ? cudaFreeAsync(ptr, cudaStreamLegacy) : cudaFree(ptr);
    if (err != cudaSuccess) TANDEM_LOG(debug, id() << " free: " << cudaGetErrorString(err));
  } catch (const Error& e) {
    TANDEM_LOG(debug, e.what());
  }
}

void CudaDevice::memset_at(void* dst, int value, size_t bytes) {
  if (bytes == 0) return;
  DeviceGuard guard(ordinal_, id());
  // Ordered like every op (legacy stream), so no host wait: Tensor::zeros stays asynchronous.
  TANDEM_CUDA_CHECK(id(), "memset", cudaMemsetAsync(dst, value, bytes, cudaStreamLegacy));
}

void CudaDevice::copy_on_device_at(void* dst, const void* src, size_t bytes) {
  if (bytes == 0 || dst == src) return;
  DeviceGuard guard(ordinal_, id());
  const auto d = reinterpret_cast<uintptr_t>(dst), s = reinterpret_cast<uintptr_t>(src);
  if (d < s + bytes && s < d + bytes) {  // cudaMemcpy does not promise memmove: go through scratch
    void* tmp = nullptr;
    TANDEM_CUDA_CHECK(id(), "copy on device", cudaMallocAsync(&tmp, bytes, cudaStreamLegacy));
    const cudaError_t a = cudaMemcpyAsync(tmp, src, bytes, cudaMemcpyDeviceToDevice, cudaStreamLegacy);
    const cudaError_t b =
        a == cudaSuccess ? cudaMemcpyAsync(dst, tmp, bytes, cudaMemcpyDeviceToDevice, cudaStreamLegacy) : a;
    cudaFreeAsync(tmp, cudaStreamLegacy);
    TANDEM_CUDA_CHECK(id(), "copy on device", b);
    return;
  }
  // Ordered after every stream's earlier work and before their later work: no host wait needed.
  TANDEM_CUDA_CHECK(id(), "copy on device",
                    cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cudaStreamLegacy));
}

std::shared_ptr<StreamImpl> CudaDevice::create_stream() { return std::make_shared<CudaStream>(*this); }

CudaStream::CudaStream(CudaDevice& device) : device_(device) {
  DeviceGuard guard(device_.ordinal(), device_.id());
  // Blocking (not cudaStreamNonBlocking): the legacy stream's memory operations order against it.
  TANDEM_CUDA_CHECK(device_.id(), "stream", cudaStreamCreateWithFlags(&stream_, cudaStreamDefault));
}

CudaStream::~CudaStream() {
  try {
    DeviceGuard guard(device_.ordinal(), device_.id());
    if (cublas_ != nullptr) cublasDestroy(cublas_);
    if (cudnn_ != nullptr) cudnnDestroy(cudnn_);
    if (readback_ != nullptr) cudaFreeHost(readback_);
    cudaStreamSynchronize(stream_);  // queued copies still use their pinned blocks
    release_pinned();
    cudaStreamDestroy(stream_);  // returns at once; queued work still completes
  } catch (const Error& e) {
    TANDEM_LOG(debug, e.what());
  }
}

void CudaStream::synchronize() {
  DeviceGuard guard(device_.ordinal(), device_.id());
  TANDEM_CUDA_CHECK(device_.id(), "synchronize", cudaStreamSynchronize(stream_));
  recycle();
}

std::shared_ptr<EventImpl> CudaStream::record() {
  DeviceGuard guard(device_.ordinal(), device_.id());
  cudaEvent_t e = nullptr;
  TANDEM_CUDA_CHECK(device_.id(), "record", cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  auto event = std::make_shared<CudaEvent>(e, device_.ordinal());
  TANDEM_CUDA_CHECK(device_.id(), "record", cudaEventRecord(e, stream_));
  return event;
}

void CudaStream::wait(EventImpl& event) {
  if (auto* e = dynamic_cast<CudaEvent*>(&event)) {  // any cuda device: the GPU orders it
    DeviceGuard guard(device_.ordinal(), device_.id());
    TANDEM_CUDA_CHECK(device_.id(), "wait", cudaStreamWaitEvent(stream_, e->get(), 0));
    return;
  }
  event.wait_for(std::chrono::hours(24));  // another backend's event: the host waits
}

cublasHandle_t CudaStream::cublas() {
  std::lock_guard lock(mutex_);
  if (cublas_ == nullptr) {
    DeviceGuard guard(device_.ordinal(), device_.id());
    cublasHandle_t h = nullptr;
    TANDEM_CUDA_CHECK(device_.id(), "cublas", cublasCreate(&h));
    cublas_ = h;
    TANDEM_CUDA_CHECK(device_.id(), "cublas", cublasSetStream(h, stream_));
    // Sgemm computes in full f32 unless TF32 is asked for; 16-bit gemms accumulate in f32 either way.
    TANDEM_CUDA_CHECK(device_.id(), "cublas",
                      cublasSetMathMode(h, tf32_enabled() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  }
  return cublas_;
}

cudnnHandle_t CudaStream::cudnn() {
  std::lock_guard lock(mutex_);
  if (cudnn_ == nullptr) {
    DeviceGuard guard(device_.ordinal(), device_.id());
    cudnnHandle_t h = nullptr;
    TANDEM_CUDA_CHECK(device_.id(), "cudnn", cudnnCreate(&h));
    cudnn_ = h;
    TANDEM_CUDA_CHECK(device_.id(), "cudnn", cudnnSetStream(h, stream_));
  }
  return cudnn_;
}

void* CudaStream::readback() {
  std::lock_guard lock(mutex_);
  if (readback_ == nullptr) {
    DeviceGuard guard(device_.ordinal(), device_.id());
    TANDEM_CUDA_CHECK(device_.id(), "read back", cudaMallocHost(&readback_, 64));
  }
  return readback_;
}

CudaEvent::~CudaEvent() { cudaEventDestroy(event_); }  // safe while pending: released once it completes

bool CudaEvent::ready() {
  const cudaError_t err = cudaEventQuery(event_);
  if (err == cudaErrorNotReady) return false;
  // Complete, or failed: either way nothing more will run; a failure surfaces at synchronize.
  if (err != cudaSuccess) TANDEM_LOG(debug, "cuda:" << ordinal_ << " event: " << cudaGetErrorString(err));
  return true;
}

bool CudaEvent::wait_for(std::chrono::nanoseconds timeout) {
  // cudaEventSynchronize has no timeout: poll, backing off to 1 ms.
  const auto end = std::chrono::steady_clock::now() + timeout;
  auto nap = std::chrono::microseconds(5);
  while (!ready()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(nap);
    nap = std::min<std::chrono::microseconds>(nap * 2, std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace tandem::cuda
