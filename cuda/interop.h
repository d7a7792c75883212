#pragma once
#include <cuda_runtime_api.h>

#include "tandem/device.h"
#include "tandem/stream.h"
namespace tandem::cuda {
/// The CUDA stream behind a runtime stream on a cuda device; Error(invalid_argument) otherwise.
cudaStream_t stream_of(const Stream& s);
/// The CUDA device ordinal of a cuda device; Error(invalid_argument) otherwise.
int ordinal_of(const Device& d);
}  // namespace tandem::cuda
