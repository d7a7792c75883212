// CPU kernels, one file per op family under ops/ (named like the descriptors in runtime/src/ops).
#pragma once

#include <algorithm>

#include "tandem/backend.h"
#include "tandem/ops.h"

namespace tandem::cpu {

void gemm(const OpCall& c);
void conv2d_forward(const OpCall& c);
void conv2d_backward_data(const OpCall& c);
void conv2d_backward_weights(const OpCall& c);
void bias_add(const OpCall& c);
void bias_backward(const OpCall& c);
void relu_forward(const OpCall& c);
void relu_backward(const OpCall& c);
void maxpool2d_forward(const OpCall& c);
void maxpool2d_backward(const OpCall& c);
void softmax_xent_forward(const OpCall& c);
void softmax_xent_backward(const OpCall& c);
void axpy(const OpCall& c);
void scale(const OpCall& c);
void fill(const OpCall& c);
void add(const OpCall& c);
void mul(const OpCall& c);
void cast(const OpCall& c);
void chunk_absmax(const OpCall& c);
void chunk_norm2(const OpCall& c);
void chunk_absmean(const OpCall& c);
void sign_pack(const OpCall& c);
void sign_unpack(const OpCall& c);
void quantize(const OpCall& c);
void dequantize(const OpCall& c);
void pack_bits(const OpCall& c);
void unpack_bits(const OpCall& c);
void sample(const OpCall& c);
void kth_magnitude(const OpCall& c);
void compact(const OpCall& c);
void scatter_add(const OpCall& c);
void random_fill(const OpCall& c);
void orthonormalize(const OpCall& c);

/// Registers every kernel above on the device.
void register_kernels(DeviceImpl& device);

/// Loops touching fewer elements than this run on the calling thread: waking the team costs
/// more than it saves.
inline constexpr int64_t parallel_threshold = 1 << 15;

/// Runs body(i) for i in [0, n), spread over the OpenMP team when `work` (elements touched)
/// exceeds parallel_threshold. Small work skips OpenMP entirely: even a region whose if-clause
/// is false costs about half a microsecond in libgomp.
template <class Body>
void parallel_for(int64_t n, int64_t work, Body body) {
  if (work <= parallel_threshold) {
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) body(i);
}

inline constexpr int64_t for_blocks_size = 1024;

/// Calls f(first, count) over [0, n) in blocks of for_blocks_size (parallel when n is large).
template <class F>
void for_blocks(int64_t n, F f) {
  parallel_for((n + for_blocks_size - 1) / for_blocks_size, n,
               [&](int64_t b) { f(b * for_blocks_size, std::min(for_blocks_size, n - b * for_blocks_size)); });
}

}  // namespace tandem::cpu
