// Return-code checks for the CUDA runtime, cuBLAS and cuDNN (internal to tandem_cuda). Every
// failing call becomes one Error line naming the device, the operation, the call and where:
//   tandem: cuda:0 copy to host: cudaMemcpyAsync failed: an illegal memory access was encountered [cuda/copy.cpp:88]
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <string>

namespace tandem::cuda {

/// Throws Error naming the device, the op and the failing call (cudaErrorMemoryAllocation gives
/// ErrorKind::out_of_memory, anything else ErrorKind::device). `call` is the call's source text.
[[noreturn]] void raise(cudaError_t err, const std::string& device, const std::string& op, const char* call,
                        const char* file, int line);
[[noreturn]] void raise(cublasStatus_t err, const std::string& device, const std::string& op, const char* call,
                        const char* file, int line);
[[noreturn]] void raise(cudnnStatus_t err, const std::string& device, const std::string& op, const char* call,
                        const char* file, int line);

inline bool failed(cudaError_t e) { return e != cudaSuccess; }
inline bool failed(cublasStatus_t e) { return e != CUBLAS_STATUS_SUCCESS; }
inline bool failed(cudnnStatus_t e) { return e != CUDNN_STATUS_SUCCESS; }

}  // namespace tandem::cuda

/// TANDEM_CUDA_CHECK("cuda:0", "copy", cudaMemcpyAsync(...)): runtime, cuBLAS or cuDNN calls.
#define TANDEM_CUDA_CHECK(device, op, call)                                                                           \
  do {                                                                                                                \
    const auto tandem_rc_ = (call);                                                                                   \
    if (::tandem::cuda::failed(tandem_rc_)) ::tandem::cuda::raise(tandem_rc_, device, op, #call, __FILE__, __LINE__); \
  } while (0)
