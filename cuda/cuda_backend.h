// The cuda backend: one device (cuda:0, cuda:1, …) per CUDA GPU the runtime reports. No GPU or
// no driver means zero devices, not an error; TANDEM_CUDA=none switches the backend off.
// interop.h gives the CUDA stream and ordinal behind runtime objects (for NCCL).
#pragma once

#include <cstdint>
#include <memory>

#include "tandem/backend.h"
#include "tandem/tensor.h"

namespace tandem::cuda {

/// The backend over every CUDA GPU found.
std::unique_ptr<Backend> make_cuda_backend();

/// Bytes of a cuda device's memory pool: reserved from the driver, and held by live buffers.
/// Memory freed to the pool stays reserved for reuse. Error(invalid_argument) for another device.
struct PoolStats {
  uint64_t reserved = 0;
  uint64_t used = 0;
};
PoolStats pool_stats(const Device& device);

/// Whether cuda device a can read and write the memory of cuda device b directly (NVLink/PCIe).
bool peer_access(const Device& a, const Device& b);

/// Copies src into dst (same dtype and element count) between cuda devices without staging in
/// host memory: peer to peer where the GPUs allow it, otherwise by the driver. Synchronous, and
/// ordered after the work queued on both devices. (tandem::copy stages through the host.)
/// Throws Error(invalid_argument) when either tensor is not on a cuda device.
void copy_peer(const Tensor& src, const Tensor& dst);

}  // namespace tandem::cuda
