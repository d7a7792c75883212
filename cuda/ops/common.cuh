// Device-side helpers of the CUDA kernels: grid-stride loops, dtype conversions with the CPU's
// exact bits, and block reductions.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "tandem/compression/philox.h"
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

// dtype.cpp's scalar conversions, transcribed: the same bits as the CPU, NaN included (CUDA's
// __float2half_rn and __float2bfloat16_rn return a canonical NaN instead).
__device__ inline uint16_t to_f16_bits(float x) {
  const uint32_t f = __float_as_uint(x);
  const uint32_t sign = (f >> 16) & 0x8000u;
  const uint32_t abs = f & 0x7fffffffu;
  if (abs >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504
  if (abs < 0x38800000u) {                                               // subnormal (or zero) in f16
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);
    const uint32_t exp = abs >> 23;
    const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - exp;
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = (abs - 0x38000000u) >> 13;
  const uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

__device__ inline float from_f16_bits(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t f;
  if (exp == 0x1fu) {
    f = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    f = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) {
    f = sign;
  } else {  // subnormal: normalize
    uint32_t e = 0;
    mant <<= 1;
    while (!(mant & 0x400u)) mant <<= 1, ++e;
    f = sign | ((112u - e) << 23) | ((mant & 0x3ffu) << 13);
  }
  return __uint_as_float(f);
}

__device__ inline uint16_t to_bf16_bits(float x) {
  const uint32_t f = __float_as_uint(x);
  const uint32_t rounded = (f + 0x7fffu + ((f >> 16) & 1u)) >> 16;
  const uint32_t quiet_nan = (f >> 16) | 0x40u;
  return static_cast<uint16_t>((f & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
}

__device__ inline float from_bf16_bits(uint16_t h) { return __uint_as_float(static_cast<uint32_t>(h) << 16); }

/// Element i of an f32, f16 or bf16 array, widened to f32.
__device__ inline float load_float(DType t, const void* p, int64_t i) {
  if (t == DType::f32) return static_cast<const float*>(p)[i];
  const uint16_t h = static_cast<const uint16_t*>(p)[i];
  return t == DType::f16 ? from_f16_bits(h) : from_bf16_bits(h);
}

/// Stores v as element i, narrowed to nearest even for f16/bf16.
__device__ inline void store_float(DType t, void* p, int64_t i, float v) {
  if (t == DType::f32) {
    static_cast<float*>(p)[i] = v;
    return;
  }
  static_cast<uint16_t*>(p)[i] = t == DType::f16 ? to_f16_bits(v) : to_bf16_bits(v);
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
__host__ __device__ inline uint64_t philox_blocks(const compression::RandomKey& key, int64_t n) {
  return n <= 0 ? 0 : ((key.offset + static_cast<uint64_t>(n) - 1) >> 2) - (key.offset >> 2) + 1;
}

/// Calls f(i, random_u32(key, i)) for the elements i of the t-th of those blocks.
template <class F>
__device__ inline void for_philox_block(const compression::RandomKey& key, int64_t n, uint64_t t, F f) {
  const uint64_t block = (key.offset >> 2) + t;
  const compression::PhiloxCounter words = compression::random_block(key, block);
  for (int j = 0; j < 4; ++j) {
    const uint64_t p = 4 * block + static_cast<uint64_t>(j);
    if (p >= key.offset && p - key.offset < static_cast<uint64_t>(n)) f(static_cast<int64_t>(p - key.offset), words[j]);
  }
}

}  // namespace tandem::cuda
