// What every CUDA kernel function (ops/*.cu) starts from: the call's device made current, its
// stream, error checks naming the op, stream-ordered scratch memory and host read-backs.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "../cuda_device.h"
#include "tandem/ops.h"

namespace tandem::cuda {

/// Threads per block of the element-wise and reduction kernels.
inline constexpr int block_threads = 256;

class Op {
 public:
  /// Makes the device current and checks that every tensor view is aligned to its element
  /// (Error(unsupported) otherwise: a misaligned load would fault the whole context).
  explicit Op(const OpCall& call);

 private:
  DeviceGuard guard_;  // first: everything below runs on the call's device

 public:
  const OpCall& call;
  CudaStream& stream;
  CudaDevice& device;

  cudaStream_t s() const { return stream.get(); }
  /// Throws Error(device) naming the op and `what` unless err is cudaSuccess.
  void check(cudaError_t err, const char* what) const;
  /// After a launch: a bad configuration or an earlier asynchronous failure becomes an Error
  /// ("cuda:0 sample: kernel sample: invalid configuration argument").
  void launched(const char* kernel) const {
    if (const cudaError_t err = cudaGetLastError(); err != cudaSuccess)
      check(err, (std::string("kernel ") + kernel).c_str());
  }
  /// Copies `bytes` (≤ 64) of device memory to the host after the stream's queued work and waits:
  /// for checks that must fail before anything is written, as on the CPU.
  void read_back(const void* device_src, void* host_dst, size_t bytes) const;
  /// Grid for a grid-stride loop over n items (n > 0): enough blocks to fill the GPU, capped so
  /// that huge tensors loop instead of exceeding grid limits.
  unsigned grid(int64_t n, int threads = block_threads) const;
  /// Fails (Error(unsupported)) when v exceeds the libraries' 32-bit sizes (OpCall::count32).
  int count32(int64_t v, const char* what) const { return call.count32(v, what); }
};

/// TANDEM_OP_CHECK(op, cudaMemsetAsync(...)): a failing call becomes Error naming the device and op.
#define TANDEM_OP_CHECK(o_, expr_) TANDEM_CUDA_CHECK((o_).device.id(), (o_).call.op.name, expr_)

/// Device memory for one call, allocated and freed in the call's stream order: freed once the
/// kernels queued before the destructor ran are done with it.
class Scratch {
 public:
  Scratch(const Op& op, size_t bytes);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  void* get() const { return ptr_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  const Op& op_;
  void* ptr_ = nullptr;
};

/// The first j with v[j] outside [lo, hi) (v i32 [n] on the device), or -1; with its value. Also
/// whether v is strictly increasing. Waits for the stream (support.cu).
struct IndexCheck {
  int64_t first_bad = -1;
  int32_t bad_value = 0;
  bool increasing = true;
};
IndexCheck check_indices(const Op& op, const int32_t* v, int64_t n, int64_t lo, int64_t hi,
                         int64_t skip = INT64_MIN);

/// The chunk reductions of quantize.cu: out[c] = (max |x|, ‖x‖₂ or mean |x| over chunk c of
/// x f32 [n]) / divisor (IEEE division; 1 leaves the value as is), in the CPU's summation order.
enum class ChunkReduce { absmax, norm2, absmean };
void reduce_chunks(const Op& op, ChunkReduce r, const float* x, int64_t n, int64_t chunk, float divisor, float* out);

/// x *= alpha for an f32, f16 or bf16 tensor (elementwise.cu; gemm uses it when k = 0).
void scale_tensor(const Op& op, const Tensor& x, float alpha);

// The kernels are in ops/<op family>.cu (named like the descriptors in runtime/src/ops/), each
// registered by a TANDEM_KERNEL(cuda_kernels, …) line beside it.

}  // namespace tandem::cuda
