// Per-chunk reductions that read x once and coalesced. A block copies a tile of whole chunks into
// shared memory (asynchronously, the next tile while it works on this one), one row per chunk, padded so that one
// thread per row reads without bank conflicts. One thread per chunk then reduces its row in the CPU's order
// (bit-identical, as the one-thread-per-chunk kernels of quantize.cu), and an epilogue turns the same tile into the
// op's other output (levels, sign bits) without a second pass over x. Reading a chunk per thread straight from global
// memory strides by the chunk across a warp; this reaches the copy's speed.
#pragma once

#include <cuda_pipeline.h>

#include <algorithm>

#include "common.cuh"
#include "op.h"

namespace tandem::cuda {

inline constexpr int tile_threads_per_block = 256;
inline constexpr int tile_capacity = 4096;  // floats per tile buffer (16 KiB; two per block)

// |x| as bits, where integer order is float order; NaN (bits above infinity's) counts as 0.
__device__ inline uint32_t abs_bits(float v) {
  const uint32_t a = __float_as_uint(v) & 0x7fffffffu;
  return a > 0x7f800000u ? 0u : a;
}

// r / divisor in IEEE division; r itself for the plain reductions (so NaN keeps its bits).
__device__ inline float divided(float r, float divisor) { return divisor == 1.0f ? r : __fdiv_rn(r, divisor); }

// One chunk's four partial sums of term(x), the CPU's way: s_j over x[i + j] for i = 0, 4, 8, …,
// the tail into s0, then (s0 + s1) + (s2 + s3). float4 loads where aligned.
template <class Term>
__device__ double chunk_sum(const float* x, int64_t count, Term term) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  if (reinterpret_cast<uintptr_t>(x) % 16 == 0) {
    for (; i + 4 <= count; i += 4) {
      const float4 v = *reinterpret_cast<const float4*>(x + i);
      s0 += term(v.x), s1 += term(v.y), s2 += term(v.z), s3 += term(v.w);
    }
  } else {
    for (; i + 4 <= count; i += 4) s0 += term(x[i]), s1 += term(x[i + 1]), s2 += term(x[i + 2]), s3 += term(x[i + 3]);
  }
  for (; i < count; ++i) s0 += term(x[i]);
  return (s0 + s1) + (s2 + s3);
}

/// max |x|, ‖x‖₂ or mean |x| of one chunk (count elements at x), before the divisor.
template <ChunkReduce R>
__device__ float reduce_chunk(const float* x, int64_t count) {
  if constexpr (R == ChunkReduce::absmax) {
    uint32_t m = 0;
    int64_t i = 0;
    if (reinterpret_cast<uintptr_t>(x) % 16 == 0)
      for (; i + 4 <= count; i += 4) {
        const float4 v = *reinterpret_cast<const float4*>(x + i);
        m = max(max(m, abs_bits(v.x)), max(abs_bits(v.y), max(abs_bits(v.z), abs_bits(v.w))));
      }
    for (; i < count; ++i) m = max(m, abs_bits(x[i]));
    return __uint_as_float(m);
  } else if constexpr (R == ChunkReduce::norm2) {
    return static_cast<float>(sqrt(chunk_sum(x, count, [](float v) { return double(v) * double(v); })));
  } else {
    return static_cast<float>(chunk_sum(x, count, [](float v) { return double(fabsf(v)); }) / double(count));
  }
}

/// reduce_chunk of a row in shared memory by the four lanes of an aligned group (lane = 0 … 3),
/// each taking one of the CPU's four partial sums: the same order, so the same bits. (More lanes
/// for the maximum, whose order is free, measured slower on an H200.) The result is lane 0's.
template <ChunkReduce R>
__device__ float reduce_row(const float* row, int count, int lane) {
  const int whole = count & ~3;
  const unsigned group = 0xfu << (threadIdx.x % 32 & ~3u);
  if constexpr (R == ChunkReduce::absmax) {
    uint32_t m = 0;
    for (int i = lane; i < whole; i += 4) m = max(m, abs_bits(row[i]));
    if (lane == 0)
      for (int i = whole; i < count; ++i) m = max(m, abs_bits(row[i]));
    m = max(m, __shfl_xor_sync(group, m, 1));
    m = max(m, __shfl_xor_sync(group, m, 2));
    return __uint_as_float(m);
  } else {
    double s = 0;
    for (int i = lane; i < whole; i += 4) {
      const float v = row[i];
      s += R == ChunkReduce::norm2 ? double(v) * double(v) : double(fabsf(v));
    }
    if (lane == 0)
      for (int i = whole; i < count; ++i) {
        const float v = row[i];
        s += R == ChunkReduce::norm2 ? double(v) * double(v) : double(fabsf(v));
      }
    s += __shfl_xor_sync(group, s, 1);  // lane 0: s0 + s1, lane 2: s2 + s3
    s += __shfl_xor_sync(group, s, 2);  // lane 0: (s0 + s1) + (s2 + s3)
    return R == ChunkReduce::norm2 ? static_cast<float>(sqrt(s)) : static_cast<float>(s / double(count));
  }
}

/// A tile as the epilogue sees it: elements [begin, begin + size) of x, chunk r of the tile in
/// shared row r, its unit (the reduction after the divisor) in unit[r].
struct ChunkTile {
  const float* rows;
  const float* unit;
  int stride;     // floats from one row to the next (≥ chunk, a multiple of 4)
  int chunk;      // elements per chunk, a multiple of 4
  int64_t begin;  // the tile's first element (a multiple of the chunk)
  int size;       // elements in the tile
  /// Calls f(i, v, u) for the whole quads of the tile this thread takes (i = 4k for k =
  /// threadIdx.x, + blockDim.x, …; v = elements i … i + 3, one row, unit u), walking the rows
  /// without a division per quad.
  template <class F>
  __device__ void for_my_quads(F f) const {
    const int quads = chunk / 4, whole = size / 4, dr = blockDim.x / quads, dc = blockDim.x % quads;
    int r = threadIdx.x / quads, c = threadIdx.x % quads;
    for (int k = threadIdx.x; k < whole; k += blockDim.x) {
      f(4 * k, *reinterpret_cast<const float4*>(rows + r * stride + 4 * c), unit[r]);
      r += dr, c += dc;
      if (c >= quads) c -= quads, ++r;
    }
  }
  /// Element i of the tile and its unit.
  __device__ float at(int i, float& u) const {
    const int r = i / chunk;
    u = unit[r];
    return rows[r * stride + (i - r * chunk)];
  }
};

/// The reduction alone.
struct NoEpilogue {
  __device__ void operator()(const ChunkTile&) const {}
};

/// Whether reduce_tiled can take these chunks: f32 rows of a multiple of 4 elements, aligned
/// for float4, several per tile.
inline bool tiled_chunks_fit(const void* x, int64_t chunk) {
  return chunk > 0 && chunk % 4 == 0 && chunk <= 2048 && reinterpret_cast<uintptr_t>(x) % 16 == 0;
}

// Starts copying the chunks of the tile at chunk `first` into rows, without waiting (cp.async:
// 16 bytes at a time, 4 for the elements past the last whole quad).
__device__ inline void stage_tile(float* rows, const float* x, int64_t n, int chunk, int stride, int per_tile,
                                  int64_t first) {
  const int64_t begin = first * chunk;
  const int size = static_cast<int>(min(static_cast<int64_t>(per_tile) * chunk, n - begin));
  const int quads = chunk / 4;
  for (int k = threadIdx.x; k < size / 4; k += blockDim.x) {
    const int r = k / quads;
    __pipeline_memcpy_async(rows + r * stride + 4 * (k - r * quads), x + begin + 4 * int64_t{k}, 16);
  }
  for (int i = (size & ~3) + threadIdx.x; i < size; i += blockDim.x)
    __pipeline_memcpy_async(rows + (i / chunk) * stride + i % chunk, x + begin + i, 4);
}

// Double-buffered: the copy of a block's next tile is in flight while it reduces the current one
// and runs the epilogue on it.
template <ChunkReduce R, class Epilogue>
__global__ void __launch_bounds__(tile_threads_per_block)
    chunk_tile_kernel(const float* x, int64_t n, int chunk, int stride, int per_tile, float divisor, float* out,
                      Epilogue epilogue) {
  extern __shared__ float4 shared4[];
  float* const buffer[2] = {reinterpret_cast<float*>(shared4), reinterpret_cast<float*>(shared4) + per_tile * stride};
  float* unit = buffer[1] + per_tile * stride;
  const int64_t chunks = (n + chunk - 1) / chunk, step = static_cast<int64_t>(gridDim.x) * per_tile;
  int64_t first = static_cast<int64_t>(blockIdx.x) * per_tile;
  if (first < chunks) stage_tile(buffer[0], x, n, chunk, stride, per_tile, first);
  __pipeline_commit();
  for (int b = 0; first < chunks; first += step, b ^= 1) {
    if (first + step < chunks) stage_tile(buffer[b ^ 1], x, n, chunk, stride, per_tile, first + step);
    __pipeline_commit();
    __pipeline_wait_prior(1);  // this thread's copies of the current tile have landed…
    __syncthreads();           // …and everyone's
    const float* rows = buffer[b];
    const int here = static_cast<int>(min(static_cast<int64_t>(per_tile), chunks - first));
    const int64_t begin = first * chunk;
    const int size = static_cast<int>(min(static_cast<int64_t>(here) * chunk, n - begin));
    for (int t = threadIdx.x; t < 4 * here; t += blockDim.x) {  // four lanes per row, whole groups
      const int r = t / 4;
      const int64_t count = min(static_cast<int64_t>(chunk), n - (first + r) * chunk);
      const float u = reduce_row<R>(rows + r * stride, static_cast<int>(count), t % 4);
      if (t % 4 == 0) out[first + r] = unit[r] = divided(u, divisor);
    }
    __syncthreads();
    epilogue(ChunkTile{rows, unit, stride, chunk, begin, size});
    __syncthreads();  // the buffer may take the tile after next, unit the next tile's units
  }
}

/// Runs the tiled reduction (and epilogue) over x f32 [n]; the caller has checked
/// tiled_chunks_fit.
template <ChunkReduce R, class Epilogue>
void reduce_tiled(const Op& op, const float* x, int64_t n, int64_t chunk, float divisor, float* out,
                  Epilogue epilogue) {
  const int c = static_cast<int>(chunk);
  const int stride = c + (36 - c % 32) % 32;  // ≡ 4 (mod 32): rows start in different banks
  const int per_tile = std::max(1, tile_capacity / stride);
  const int64_t tiles = ((n + chunk - 1) / chunk + per_tile - 1) / per_tile;
  const size_t shared = (2 * static_cast<size_t>(per_tile) * stride + per_tile) * sizeof(float);
  const auto blocks = static_cast<unsigned>(std::clamp<int64_t>(tiles, 1, op.device.props().compute_units * 16));
  // As many tiles in flight per SM as shared memory holds: the default split favours L1. A hint,
  // set once (on the first device that runs the kernel).
  static const cudaError_t carveout = cudaFuncSetAttribute(
      chunk_tile_kernel<R, Epilogue>, cudaFuncAttributePreferredSharedMemoryCarveout, cudaSharedmemCarveoutMaxShared);
  op.check(carveout, "chunk tiles: shared-memory carveout");
  chunk_tile_kernel<R, Epilogue>
      <<<blocks, tile_threads_per_block, shared, op.s()>>>(x, n, c, stride, per_tile, divisor, out, epilogue);
  op.launched("chunk tiles");
}

}  // namespace tandem::cuda
