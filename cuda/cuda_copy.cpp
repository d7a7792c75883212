// Host copies of a cuda device. Pinned (or managed) host memory is copied directly; pageable
// memory goes through two pinned staging buffers, so that copying one chunk on the host overlaps
// the DMA of the other. Copies run on the legacy stream: they see every stream's earlier work,
// and later work on any stream sees them. They return once the data has arrived. Stream-ordered
// copies (tandem::copy with a stream) go on the stream instead, through pinned blocks it reuses.
#include <algorithm>
#include <cstring>

#include "cuda_device.h"
#include "tandem/error.h"

namespace tandem::cuda {
namespace {

// Whether the DMA engines can read/write host memory at p directly (page-locked or managed).
bool dma_ready(const void* p) {
  cudaPointerAttributes a{};
  if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
    cudaGetLastError();  // older drivers report plain host memory as an error; not sticky
    return false;
  }
  return a.type == cudaMemoryTypeHost || a.type == cudaMemoryTypeManaged;
}

}  // namespace

CudaDevice::Staging::~Staging() {
  for (int b = 0; b < 2; ++b) {
    if (done[b] != nullptr) cudaEventDestroy(done[b]);
    if (buf[b] != nullptr) cudaFreeHost(buf[b]);
  }
}

CudaDevice::Staging& CudaDevice::staging() {
  if (!staging_) {
    auto s = std::make_unique<Staging>();
    for (int b = 0; b < 2; ++b) {
      TANDEM_CUDA_CHECK(id(), "staging", cudaMallocHost(&s->buf[b], Staging::chunk));
      TANDEM_CUDA_CHECK(id(), "staging", cudaEventCreateWithFlags(&s->done[b], cudaEventDisableTiming));
    }
    staging_ = std::move(s);
  }
  return *staging_;
}

void CudaDevice::copy_from_host_at(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  DeviceGuard guard(ordinal_, id());
  if (dma_ready(src)) {
    TANDEM_CUDA_CHECK(id(), "copy from host",
                      cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, cudaStreamLegacy));
  } else {
    stage_in(static_cast<char*>(dst), static_cast<const char*>(src), bytes);
  }
  // The caller may reuse its memory as soon as we return; errors of earlier work surface here.
  TANDEM_CUDA_CHECK(id(), "copy from host", cudaStreamSynchronize(cudaStreamLegacy));
}

void CudaDevice::stage_in(char* dst, const char* src, size_t bytes) {
  std::lock_guard lock(staging_mutex_);
  Staging& st = staging();
  for (size_t off = 0, i = 0; off < bytes; off += Staging::chunk, ++i) {
    const size_t len = std::min(Staging::chunk, bytes - off);
    const int b = static_cast<int>(i & 1);
    TANDEM_CUDA_CHECK(id(), "copy from host", cudaEventSynchronize(st.done[b]));  // its last DMA is done
    std::memcpy(st.buf[b], src + off, len);
    TANDEM_CUDA_CHECK(id(), "copy from host",
                      cudaMemcpyAsync(dst + off, st.buf[b], len, cudaMemcpyHostToDevice, cudaStreamLegacy));
    TANDEM_CUDA_CHECK(id(), "copy from host", cudaEventRecord(st.done[b], cudaStreamLegacy));
  }
}

void CudaDevice::copy_to_host_at(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  DeviceGuard guard(ordinal_, id());
  if (dma_ready(dst)) {
    TANDEM_CUDA_CHECK(id(), "copy to host", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, cudaStreamLegacy));
    TANDEM_CUDA_CHECK(id(), "copy to host", cudaStreamSynchronize(cudaStreamLegacy));
    return;
  }
  stage_out(static_cast<char*>(dst), static_cast<const char*>(src), bytes);
}

void CudaDevice::stage_out(char* dst, const char* src, size_t bytes) {
  std::lock_guard lock(staging_mutex_);
  Staging& st = staging();
  // A copy that failed half-way may have left a DMA in flight into a buffer.
  for (cudaEvent_t e : st.done) TANDEM_CUDA_CHECK(id(), "copy to host", cudaEventSynchronize(e));
  const size_t chunks = (bytes + Staging::chunk - 1) / Staging::chunk;
  auto length = [&](size_t i) { return std::min(Staging::chunk, bytes - i * Staging::chunk); };
  auto issue = [&](size_t i) {
    const int b = static_cast<int>(i & 1);
    TANDEM_CUDA_CHECK(
        id(), "copy to host",
        cudaMemcpyAsync(st.buf[b], src + i * Staging::chunk, length(i), cudaMemcpyDeviceToHost, cudaStreamLegacy));
    TANDEM_CUDA_CHECK(id(), "copy to host", cudaEventRecord(st.done[b], cudaStreamLegacy));
  };
  issue(0);
  if (chunks > 1) issue(1);
  for (size_t i = 0; i < chunks; ++i) {
    const int b = static_cast<int>(i & 1);
    TANDEM_CUDA_CHECK(id(), "copy to host", cudaEventSynchronize(st.done[b]));
    std::memcpy(dst + i * Staging::chunk, st.buf[b], length(i));
    if (i + 2 < chunks) issue(i + 2);
  }
}

CudaStream::Pinned CudaStream::pinned(size_t bytes) {
  recycle();
  std::lock_guard lock(pinned_mutex_);
  auto it = std::find_if(free_.begin(), free_.end(), [&](const Pinned& p) { return p.bytes >= bytes; });
  Pinned p;
  if (it != free_.end()) {
    p = *it;
    free_.erase(it);
  } else {
    p.bytes = std::max<size_t>(bytes, 1 << 16);
    TANDEM_CUDA_CHECK(device_.id(), "copy", cudaMallocHost(&p.host, p.bytes));
    const cudaError_t err = cudaEventCreateWithFlags(&p.done, cudaEventDisableTiming);
    if (err != cudaSuccess) cudaFreeHost(p.host);
    TANDEM_CUDA_CHECK(device_.id(), "copy", err);
  }
  in_flight_.push_back(p);
  return p;
}

void CudaStream::recycle() {
  std::lock_guard lock(pinned_mutex_);
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (cudaEventQuery(it->done) == cudaSuccess) {
      free_.push_back(*it);
      it = in_flight_.erase(it);
    } else {
      cudaGetLastError();  // cudaErrorNotReady is not an error here
      ++it;
    }
  }
}

void CudaStream::release_pinned() noexcept {
  std::lock_guard lock(pinned_mutex_);
  for (auto* list : {&in_flight_, &free_})
    for (const Pinned& p : *list) {
      cudaEventDestroy(p.done);
      cudaFreeHost(p.host);
    }
  in_flight_.clear();
  free_.clear();
}

bool CudaStream::copy_from_host(const DeviceBuffer& dst, size_t offset, const void* src, size_t bytes) {
  if (bytes == 0) return true;
  DeviceGuard guard(device_.ordinal(), device_.id());
  const Pinned p = pinned(bytes);
  std::memcpy(p.host, src, bytes);  // the caller may reuse src at once
  TANDEM_CUDA_CHECK(device_.id(), "copy from host",
                    cudaMemcpyAsync(dst.at(offset), p.host, bytes, cudaMemcpyHostToDevice, stream_));
  TANDEM_CUDA_CHECK(device_.id(), "copy from host", cudaEventRecord(p.done, stream_));
  return true;
}

namespace {
// A queued host function: the staged bytes of a read to their destination (no CUDA calls here).
void CUDART_CB deliver(void* data) {
  const auto* p = static_cast<const CudaStream::Delivery*>(data);
  std::memcpy(p->dst, p->src, p->bytes);
  delete p;
}
}  // namespace

bool CudaStream::copy_to_host(void* dst, const DeviceBuffer& src, size_t offset, size_t bytes) {
  if (bytes == 0) return true;
  DeviceGuard guard(device_.ordinal(), device_.id());
  const Pinned p = pinned(bytes);
  TANDEM_CUDA_CHECK(device_.id(), "copy to host",
                    cudaMemcpyAsync(p.host, src.at(offset), bytes, cudaMemcpyDeviceToHost, stream_));
  auto* d = new Delivery{dst, p.host, bytes};
  const cudaError_t err = cudaLaunchHostFunc(stream_, deliver, d);
  if (err != cudaSuccess) delete d;
  TANDEM_CUDA_CHECK(device_.id(), "copy to host", err);
  TANDEM_CUDA_CHECK(device_.id(), "copy to host", cudaEventRecord(p.done, stream_));
  return true;
}

}  // namespace tandem::cuda
