// Device-side helpers of the CUDA kernels: grid-stride loops, dtype conversions with the CPU's
// exact bits, and block reductions.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "tandem/numeric/philox.h"
#include "tandem/numeric/half.h"
#include "tandem/dtype.h"

namespace tandem::cuda {

/// for i in [0, n) over the whole grid, with 64-bit indices (tensors may exceed 2³¹ elements).
#define TANDEM_GRID_LOOP(i, n)                                                           \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

/// The chunk of element i: 32-bit division where both fit (a 64-bit division is a long loop).
__device__ inline int64_t chunk_of(int64_t i, int64_t chunk) {
  if (i <= INT32_MAX && chunk <= INT32_MAX) return static_cast<uint32_t>(i) / static_cast<uint32_t>(chunk);
  return i / chunk;
}

/// The thread's place in the whole grid (for the tail after a grid-stride loop over groups).
__device__ inline int64_t grid_thread() { return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; }

// The CPU's conversions (tandem/numeric/half.h): the same bits, NaN included (CUDA's
// __float2half_rn and __float2bfloat16_rn return a canonical NaN instead).
using numeric::bf16_bits_to_f32;
using numeric::f16_bits_to_f32;
using numeric::f32_to_bf16_bits;
using numeric::f32_to_f16_bits;

/// Element i of an f32, f16 or bf16 array, widened to f32.
__device__ inline float load_float(DType t, const void* p, int64_t i) {
  if (t == DType::f32) return static_cast<const float*>(p)[i];
  const uint16_t h = static_cast<const uint16_t*>(p)[i];
  return t == DType::f16 ? f16_bits_to_f32(h) : bf16_bits_to_f32(h);
}

/// Stores v as element i, narrowed to nearest even for f16/bf16.
__device__ inline void store_float(DType t, void* p, int64_t i, float v) {
  if (t == DType::f32) {
    static_cast<float*>(p)[i] = v;
    return;
  }
  static_cast<uint16_t*>(p)[i] = t == DType::f16 ? f32_to_f16_bits(v) : f32_to_bf16_bits(v);
}

/// for row in [0, rows), one warp per row over the whole grid (blockDim.x a multiple of 32): the
/// lanes of a warp share the row, so they may all take part in the warp reductions below.
#define TANDEM_WARP_LOOP(row, rows)                                                                 \
  for (int64_t row = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; row < (rows); \
       row += static_cast<int64_t>(gridDim.x) * blockDim.x / 32)

/// The max (NaN ignored, as fmaxf) and the sum of v over the warp, returned to every lane. An xor
/// butterfly: every lane combines the same pairs, so all hold the same bits. All 32 lanes call it.
__device__ inline float warp_max(float v) {
  for (int o = 16; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
template <class T>
__device__ inline T warp_sum(T v) {
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

/// The sum of v over the block, returned to every thread. blockDim.x a multiple of 32 (≤ 1024);
/// every thread must call it. Tree order: within rounding of a sequential sum, not bit-equal.
__device__ inline double block_sum(double v) {
  __shared__ double partial[32];
  for (int o = 16; o > 0; o /= 2) v += __shfl_down_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // partial may still be read by a previous call
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < static_cast<int>(blockDim.x / 32) ? partial[lane] : 0.0;
    for (int o = 16; o > 0; o /= 2) v += __shfl_down_sync(0xffffffffu, v, o);
    if (lane == 0) partial[0] = v;
  }
  __syncthreads();
  return partial[0];
}

/// Philox blocks (four random words each) covering elements [0, n) of a tensor whose stream
/// starts at key.offset: a kernel gives one thread per block, so each block is computed once.
__host__ __device__ inline uint64_t philox_blocks(const numeric::RandomKey& key, int64_t n) {
  return n <= 0 ? 0 : ((key.offset + static_cast<uint64_t>(n) - 1) >> 2) - (key.offset >> 2) + 1;
}

/// Calls f(i, random_u32(key, i)) for the elements i of the t-th of those blocks.
template <class F>
__device__ inline void for_philox_block(const numeric::RandomKey& key, int64_t n, uint64_t t, F f) {
  const uint64_t block = (key.offset >> 2) + t;
  const numeric::PhiloxCounter words = numeric::random_block(key, block);
  for (int j = 0; j < 4; ++j) {
    const uint64_t p = 4 * block + static_cast<uint64_t>(j);
    if (p >= key.offset && p - key.offset < static_cast<uint64_t>(n)) f(static_cast<int64_t>(p - key.offset), words[j]);
  }
}

}  // namespace tandem::cuda
