// The CUDA kernels' registration list. Every op of the CPU backend has a CUDA kernel; none
// reports `unsupported` for a valid call except sizes past cuBLAS/cuDNN's 32-bit dimensions and
// views not aligned to their element.
#include "op.h"

namespace tandem::cuda {

KernelList& cuda_kernels() {
  static KernelList list;
  return list;
}

}  // namespace tandem::cuda
