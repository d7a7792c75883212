// Dense codec primitives: per-chunk abs-max, L2 norm and mean magnitude, quantize (nearest or
// stochastic, Philox-keyed) and dequantize. Bit-identical to the CPU: the sums run per chunk in
// the CPU's order (four double partial sums over x[i], x[i+1], x[i+2], x[i+3], the tail into the
// first, combined as (s0 + s1) + (s2 + s3)). Chunks that tile (chunk_tiles.cuh) are staged through
// shared memory, four lanes per chunk, and quantize makes its levels from the same tile; other
// chunks take a thread each (a block for a large abs-max). Levels come from tandem/numeric/levels.h.
//
// Sign compression (1 bit per element plus each chunk's mean magnitude) and fixed-width bit
// packing (tandem/numeric/bitpack.h's layout: group g of 8 fields fills bytes g·W … g·W + W − 1).
// sign_pack makes its bits from chunk tiles where the chunks tile; the rest take a thread per
// byte, per four elements or per group of 8 fields. Bit-identical to the CPU.
#include <algorithm>
#include <type_traits>

#include "chunk_tiles.cuh"
#include "common.cuh"
#include "op.h"
#include "tandem/numeric/bitpack.h"
#include "tandem/numeric/levels.h"

namespace tandem::cuda {

namespace {

template <ChunkReduce R>
__global__ void reduce_per_thread(const float* x, int64_t n, int64_t chunk, float divisor, float* out) {
  TANDEM_GRID_LOOP(c, (n + chunk - 1) / chunk) {
    const int64_t count = n - c * chunk < chunk ? n - c * chunk : chunk;
    out[c] = divided(reduce_chunk<R>(x + c * chunk, count), divisor);
  }
}

// abs-max of large chunks: a block per chunk.
__global__ void absmax_per_block(const float* x, int64_t n, int64_t chunk, float divisor, float* out) {
  __shared__ uint32_t partial[32];
  for (int64_t c = blockIdx.x; c * chunk < n; c += gridDim.x) {
    const int64_t count = n - c * chunk < chunk ? n - c * chunk : chunk;
    uint32_t m = 0;
    for (int64_t i = threadIdx.x; i < count; i += blockDim.x) m = max(m, abs_bits(x[c * chunk + i]));
    for (int o = 16; o > 0; o /= 2) m = max(m, __shfl_down_sync(0xffffffffu, m, o));
    __syncthreads();  // the previous chunk's reads of partial are done
    if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = m;
    __syncthreads();
    if (threadIdx.x == 0) {
      for (unsigned w = 1; w < blockDim.x / 32; ++w) m = max(m, partial[w]);
      out[c] = divided(__uint_as_float(m), divisor);
    }
  }
}

// A chunk with a zero or non-finite unit quantizes to 0 (the CPU fills it with zeros).
__device__ inline bool usable_unit(float u) { return u > 0.0f && isfinite(u); }

__global__ void levels_nearest_kernel(const float* x, const float* unit, int8_t* q, int64_t n, int64_t chunk,
                                      float top) {
  TANDEM_GRID_LOOP(i, n) {
    const float u = unit[chunk_of(i, chunk)];
    q[i] = usable_unit(u) ? numeric::level_nearest(__fdiv_rn(x[i], u), top) : int8_t{0};
  }
}

// One thread per Philox block: the four words feed four consecutive elements, as on the CPU.
__global__ void levels_stochastic_kernel(const float* x, const float* unit, int8_t* q, int64_t n, int64_t chunk,
                                         float top, numeric::RandomKey key, uint64_t blocks) {
  TANDEM_GRID_LOOP(t, static_cast<int64_t>(blocks)) {
    for_philox_block(key, n, static_cast<uint64_t>(t), [&](int64_t i, uint32_t word) {
      const float u = unit[chunk_of(i, chunk)];
      q[i] = usable_unit(u) ? numeric::level_stochastic(__fdiv_rn(x[i], u), numeric::uniform_from(word), top)
                            : int8_t{0};
    });
  }
}

// Four levels as one 32-bit store (p aligned to 4).
__device__ inline void store4(int8_t* p, const int8_t (&v)[4]) {
  *reinterpret_cast<char4*>(p) = make_char4(v[0], v[1], v[2], v[3]);
}

// quantize's second half as the epilogue of its tiled reduction: the tile's levels, four per
// step, from the rows already in shared memory.
struct NearestLevels {
  int8_t* q;
  float top;
  __device__ int8_t level(float v, float u) const {
    return usable_unit(u) ? numeric::level_nearest(__fdiv_rn(v, u), top) : int8_t{0};
  }
  __device__ void operator()(const ChunkTile& t) const {
    t.for_my_quads([&](int i, float4 v, float u) {
      store4(q + t.begin + i, {level(v.x, u), level(v.y, u), level(v.z, u), level(v.w, u)});
    });
    for (int i = (t.size & ~3) + threadIdx.x; i < t.size; i += blockDim.x) {
      float u;
      const float v = t.at(i, u);
      q[t.begin + i] = level(v, u);
    }
  }
};

// The same for stochastic rounding: element i takes Philox word key.offset + i, as on the CPU;
// four elements span one Philox block, or two where the offset is not a multiple of 4.
struct StochasticLevels {
  int8_t* q;
  float top;
  numeric::RandomKey key;
  // Levels of elements i … i + m − 1 of the tile (m ≤ 4, values v, one unit u).
  __device__ void levels(const ChunkTile& t, int i, const float (&v)[4], float u, int m, int8_t (&out)[4]) const {
    const uint64_t p = key.offset + static_cast<uint64_t>(t.begin + i);
    const unsigned skip = p & 3u;
    const numeric::PhiloxCounter a = numeric::random_block(key, p >> 2);
    const numeric::PhiloxCounter b = skip != 0 ? numeric::random_block(key, (p >> 2) + 1) : a;
    // Word j of the four; selects rather than an indexed array, which would live in local memory.
    const auto word = [&](unsigned j) {
      const unsigned k = j % 4;
      const uint32_t from_a = k == 0 ? a[0] : k == 1 ? a[1] : k == 2 ? a[2] : a[3];
      const uint32_t from_b = k == 0 ? b[0] : k == 1 ? b[1] : k == 2 ? b[2] : b[3];
      return j < 4 ? from_a : from_b;
    };
#pragma unroll
    for (int j = 0; j < 4; ++j)
      out[j] = j < m && usable_unit(u)
                   ? numeric::level_stochastic(__fdiv_rn(v[j], u), numeric::uniform_from(word(skip + j)), top)
                   : int8_t{0};
  }
  __device__ void operator()(const ChunkTile& t) const {
    t.for_my_quads([&](int i, float4 v4, float u) {
      int8_t out[4];
      levels(t, i, {v4.x, v4.y, v4.z, v4.w}, u, 4, out);
      store4(q + t.begin + i, out);
    });
    const int tail = t.size & ~3;
    if (tail < t.size && threadIdx.x == 0) {  // the last partial quad: one row, one unit
      float v[4] = {0, 0, 0, 0}, u = 0;
      for (int j = 0; j < t.size - tail; ++j) v[j] = t.at(tail + j, u);
      int8_t out[4];
      levels(t, tail, v, u, t.size - tail, out);
      for (int j = 0; j < t.size - tail; ++j) q[t.begin + tail + j] = out[j];
    }
  }
};

__global__ void dequantize_kernel(const int8_t* q, const float* unit, float* y, int64_t n, int64_t chunk) {
  TANDEM_GRID_LOOP(i, n) y[i] = __fmul_rn(static_cast<float>(q[i]), unit[chunk_of(i, chunk)]);
}

// Four elements per step (q aligned to 4, y to 16, chunk a multiple of 4: one unit per step).
__global__ void dequantize_x4_kernel(const int8_t* __restrict__ q, const float* __restrict__ unit,
                                     float* __restrict__ y, int64_t n, int64_t chunk) {
#pragma unroll 4  // several loads in flight per thread
  TANDEM_GRID_LOOP(k, n / 4) {
    const char4 v = reinterpret_cast<const char4*>(q)[k];
    const float u = unit[chunk_of(4 * k, chunk)];
    reinterpret_cast<float4*>(y)[k] =
        make_float4(__fmul_rn(static_cast<float>(v.x), u), __fmul_rn(static_cast<float>(v.y), u),
                    __fmul_rn(static_cast<float>(v.z), u), __fmul_rn(static_cast<float>(v.w), u));
  }
  const int64_t i = (n & ~int64_t{3}) + grid_thread();
  if (i < n) y[i] = __fmul_rn(static_cast<float>(q[i]), unit[chunk_of(i, chunk)]);
}

void reduce_op(const OpCall& c, ChunkReduce r) {
  const Op op(c);
  reduce_chunks(op, r, static_cast<const float*>(c.in[0]->data()), c.in[0]->numel(), c.param<ChunkParams>().chunk, 1.0f,
                static_cast<float*>(c.out[0]->data()));
}

}  // namespace

void reduce_chunks(const Op& op, ChunkReduce r, const float* x, int64_t n, int64_t chunk, float divisor, float* out) {
  const int64_t chunks = (n + chunk - 1) / chunk;
  if (chunks == 0) return;
  if (tiled_chunks_fit(x, chunk)) {
    if (r == ChunkReduce::absmax) reduce_tiled<ChunkReduce::absmax>(op, x, n, chunk, divisor, out, NoEpilogue{});
    if (r == ChunkReduce::norm2) reduce_tiled<ChunkReduce::norm2>(op, x, n, chunk, divisor, out, NoEpilogue{});
    if (r == ChunkReduce::absmean) reduce_tiled<ChunkReduce::absmean>(op, x, n, chunk, divisor, out, NoEpilogue{});
    return;
  }
  if (r == ChunkReduce::absmax && chunk >= 1024) {
    absmax_per_block<<<op.grid(chunks * block_threads), block_threads, 0, op.s()>>>(x, n, chunk, divisor, out);
  } else if (r == ChunkReduce::absmax) {
    reduce_per_thread<ChunkReduce::absmax><<<op.grid(chunks, 64), 64, 0, op.s()>>>(x, n, chunk, divisor, out);
  } else if (r == ChunkReduce::norm2) {
    reduce_per_thread<ChunkReduce::norm2><<<op.grid(chunks, 64), 64, 0, op.s()>>>(x, n, chunk, divisor, out);
  } else {
    reduce_per_thread<ChunkReduce::absmean><<<op.grid(chunks, 64), 64, 0, op.s()>>>(x, n, chunk, divisor, out);
  }
  op.launched("chunk reduction");
}

void chunk_absmax(const OpCall& c) { reduce_op(c, ChunkReduce::absmax); }
TANDEM_KERNEL(cuda_kernels, chunk_absmax, chunk_absmax);
void chunk_norm2(const OpCall& c) { reduce_op(c, ChunkReduce::norm2); }
TANDEM_KERNEL(cuda_kernels, chunk_norm2, chunk_norm2);
void chunk_absmean(const OpCall& c) { reduce_op(c, ChunkReduce::absmean); }
TANDEM_KERNEL(cuda_kernels, chunk_absmean, chunk_absmean);

void quantize(const OpCall& c) {
  const Op op(c);
  const auto& p = c.param<QuantizeParams>();
  const float* x = static_cast<const float*>(c.in[0]->data());
  float* unit = static_cast<float*>(c.out[0]->data());
  int8_t* q = static_cast<int8_t*>(c.out[1]->data());
  const int64_t n = c.in[0]->numel();
  const float top = static_cast<float>(p.levels);
  if (n == 0) return;
  // unit = (max |x| or ‖x‖₂) / levels, then every element against its chunk's unit: fused into
  // one pass over x where the chunks tile, else a reduction and a levels kernel.
  if (tiled_chunks_fit(x, p.chunk) && reinterpret_cast<uintptr_t>(q) % 4 == 0) {
    if (p.scale == QuantScale::absmax && !p.stochastic)
      reduce_tiled<ChunkReduce::absmax>(op, x, n, p.chunk, top, unit, NearestLevels{q, top});
    else if (p.scale == QuantScale::absmax)
      reduce_tiled<ChunkReduce::absmax>(op, x, n, p.chunk, top, unit, StochasticLevels{q, top, p.key});
    else if (!p.stochastic)
      reduce_tiled<ChunkReduce::norm2>(op, x, n, p.chunk, top, unit, NearestLevels{q, top});
    else
      reduce_tiled<ChunkReduce::norm2>(op, x, n, p.chunk, top, unit, StochasticLevels{q, top, p.key});
    return;
  }
  reduce_chunks(op, p.scale == QuantScale::absmax ? ChunkReduce::absmax : ChunkReduce::norm2, x, n, p.chunk, top, unit);
  if (!p.stochastic) {
    levels_nearest_kernel<<<op.grid(n), block_threads, 0, op.s()>>>(x, unit, q, n, p.chunk, top);
    op.launched("quantize_nearest");
    return;
  }
  const uint64_t blocks = philox_blocks(p.key, n);
  levels_stochastic_kernel<<<op.grid(static_cast<int64_t>(blocks)), block_threads, 0, op.s()>>>(x, unit, q, n, p.chunk,
                                                                                                top, p.key, blocks);
  op.launched("quantize_stochastic");
}
TANDEM_KERNEL(cuda_kernels, quantize, quantize);

void dequantize(const OpCall& c) {
  const Op op(c);
  const int64_t n = c.in[0]->numel();
  if (n == 0) return;
  const auto* q = static_cast<const int8_t*>(c.in[0]->data());
  const auto* unit = static_cast<const float*>(c.in[1]->data());
  auto* y = static_cast<float*>(c.out[0]->data());
  const int64_t chunk = c.param<ChunkParams>().chunk;
  if (chunk % 4 == 0 && reinterpret_cast<uintptr_t>(q) % 4 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0)
    dequantize_x4_kernel<<<op.grid(std::max<int64_t>(n / 4, 1)), block_threads, 0, op.s()>>>(q, unit, y, n, chunk);
  else
    dequantize_kernel<<<op.grid(n), block_threads, 0, op.s()>>>(q, unit, y, n, chunk);
  op.launched("dequantize");
}
TANDEM_KERNEL(cuda_kernels, dequantize, dequantize);

namespace {

// Bit j of byte b is 1 where x[8b + j] ≥ 0 (so −0 gives 1, NaN 0); unused high bits stay 0.
__global__ void sign_bits_kernel(const float* x, uint8_t* bits, int64_t n) {
  TANDEM_GRID_LOOP(b, (n + 7) / 8) {
    const int64_t first = 8 * b, count = n - first < 8 ? n - first : 8;
    unsigned byte = 0;
    for (int64_t j = 0; j < count; ++j) byte |= (x[first + j] >= 0.0f ? 1u : 0u) << j;
    bits[b] = static_cast<uint8_t>(byte);
  }
}

// sign_pack's bits as the epilogue of its tiled mean-magnitude reduction (chunks a multiple of
// 8, so the tile's bytes are whole): a byte per thread and step, from the rows in shared memory.
struct SignBits {
  uint8_t* bits;
  __device__ void operator()(const ChunkTile& t) const {
    for (int b = threadIdx.x; 8 * b < t.size; b += blockDim.x) {
      const int first = 8 * b, count = min(8, t.size - first);
      unsigned byte = 0;
      float u;
      if (count == 8) {  // one row: the chunk is a multiple of 8
        const int r = first / t.chunk;
        const float4* row = reinterpret_cast<const float4*>(t.rows + r * t.stride + (first - r * t.chunk));
        const float4 lo = row[0], hi = row[1];
        const float v[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
        for (int j = 0; j < 8; ++j) byte |= (v[j] >= 0.0f ? 1u : 0u) << j;
      } else {
        for (int j = 0; j < count; ++j) byte |= (t.at(first + j, u) >= 0.0f ? 1u : 0u) << j;
      }
      bits[t.begin / 8 + b] = static_cast<uint8_t>(byte);
    }
  }
};

// ±unit by setting the sign bit where the element's bit is 0, as the CPU does.
__device__ inline float signed_unit(uint32_t unit_bits, unsigned byte, int j) {
  return __uint_as_float(unit_bits | ((~(byte >> j) & 1u) << 31));
}

__global__ void sign_unpack_kernel(const uint8_t* bits, const float* unit, float* y, int64_t n, int64_t chunk) {
  TANDEM_GRID_LOOP(i, n) y[i] = signed_unit(__float_as_uint(unit[chunk_of(i, chunk)]), bits[i >> 3], i & 7);
}

// Four elements (a float4 store; a warp writes 512 contiguous bytes) per step: y aligned to 16,
// chunk a multiple of 4.
__global__ void sign_unpack_x4_kernel(const uint8_t* __restrict__ bits, const float* __restrict__ unit,
                                      float* __restrict__ y, int64_t n, int64_t chunk) {
#pragma unroll 4
  TANDEM_GRID_LOOP(k, n / 4) {
    const unsigned half = bits[k / 2] >> (4 * (k % 2));
    const uint32_t u = __float_as_uint(unit[chunk_of(4 * k, chunk)]);
    reinterpret_cast<float4*>(y)[k] =
        make_float4(signed_unit(u, half, 0), signed_unit(u, half, 1), signed_unit(u, half, 2), signed_unit(u, half, 3));
  }
  const int64_t i = (n & ~int64_t{3}) + grid_thread();
  if (i < n) y[i] = signed_unit(__float_as_uint(unit[chunk_of(i, chunk)]), bits[i >> 3], i & 7);
}

// A group's fields, (q + offset) & mask at bit j·W, from its 8 bytes (lo: fields 0–3). W is a
// template argument so that the shifts and masks are constants.
template <int W>
__device__ inline uint64_t pack_group(uint32_t lo, uint32_t hi, int offset) {
  using Acc = std::conditional_t<(8 * W <= 32), uint32_t, uint64_t>;
  constexpr Acc mask = (Acc{1} << W) - 1;
  Acc acc = 0;
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const int v = static_cast<int8_t>((j < 4 ? lo : hi) >> (8 * (j % 4)));
    acc |= (static_cast<Acc>(v + offset) & mask) << (j * W);
  }
  return acc;
}

// A whole group's width bytes at out: one store of 8, or stores of 4 or 2, where the width and
// the pointer allow (store: the widest that divides the width; wide: bits aligned to it).
__device__ inline void store_group(uint8_t* out, uint64_t acc, int width, int store, bool wide) {
  if (wide && store == 8) {
    *reinterpret_cast<uint64_t*>(out) = acc;
  } else if (wide && store == 4) {
    for (int b = 0; b < width / 4; ++b) reinterpret_cast<uint32_t*>(out)[b] = static_cast<uint32_t>(acc >> (32 * b));
  } else if (wide && store == 2) {
    for (int b = 0; b < width / 2; ++b) reinterpret_cast<uint16_t*>(out)[b] = static_cast<uint16_t>(acc >> (16 * b));
  } else {
    for (int b = 0; b < width; ++b) out[b] = static_cast<uint8_t>(acc >> (8 * b));
  }
}

// Any group, whole or the last partial one, a byte at a time.
__device__ inline void pack_any_group(const int8_t* q, uint8_t* bits, int64_t n, int64_t g, int width, int offset,
                                      uint64_t mask) {
  const int64_t count = n - 8 * g < 8 ? n - 8 * g : 8;
  uint64_t acc = 0;
  for (int64_t j = 0; j < count; ++j)
    acc |= (static_cast<uint64_t>(static_cast<int>(q[8 * g + j]) + offset) & mask) << (j * width);
  const int64_t bytes = numeric::packed_bytes(count, width);  // width bytes for a whole group
  for (int64_t b = 0; b < bytes; ++b) bits[g * width + b] = static_cast<uint8_t>(acc >> (8 * b));
}

// Two whole groups per step from one 16-byte load (q aligned to 16); the rest, and any q, by
// pack_any_group.
template <int W>
__global__ void pack_kernel(const int8_t* __restrict__ q, uint8_t* __restrict__ bits, int64_t n, int offset) {
  const int64_t groups = (n + 7) / 8;
  int64_t done = 0;
  if (reinterpret_cast<uintptr_t>(q) % 16 == 0) {
    constexpr int store = W % 8 == 0 ? 8 : W % 4 == 0 ? 4 : W % 2 == 0 ? 2 : 1;
    const bool wide = reinterpret_cast<uintptr_t>(bits) % store == 0;
    done = 2 * (n / 16);
#pragma unroll 2
    TANDEM_GRID_LOOP(p, n / 16) {
      const uint4 w = reinterpret_cast<const uint4*>(q)[p];
      store_group(bits + 2 * p * W, pack_group<W>(w.x, w.y, offset), W, store, wide);
      store_group(bits + (2 * p + 1) * W, pack_group<W>(w.z, w.w, offset), W, store, wide);
    }
  }
  const uint64_t mask = (uint64_t{1} << W) - 1;
  TANDEM_GRID_LOOP(g, groups - done) pack_any_group(q, bits, n, done + g, W, offset, mask);
}

__global__ void unpack_kernel(const uint8_t* bits, int8_t* q, int64_t n, int width, int offset) {
  const uint64_t mask = (uint64_t{1} << width) - 1;
  TANDEM_GRID_LOOP(g, (n + 7) / 8) {
    const int64_t count = n - 8 * g < 8 ? n - 8 * g : 8;
    const int64_t bytes = numeric::packed_bytes(count, width);
    uint64_t acc = 0;
    for (int64_t b = 0; b < bytes; ++b) acc |= static_cast<uint64_t>(bits[g * width + b]) << (8 * b);
    for (int64_t j = 0; j < count; ++j)
      q[8 * g + j] = static_cast<int8_t>(static_cast<int>((acc >> (j * width)) & mask) - offset);
  }
}

}  // namespace

void sign_pack(const OpCall& c) {
  const Op op(c);
  const float* x = static_cast<const float*>(c.in[0]->data());
  const int64_t n = c.in[0]->numel(), chunk = c.param<ChunkParams>().chunk;
  auto* unit = static_cast<float*>(c.out[0]->data());
  auto* bits = static_cast<uint8_t*>(c.out[1]->data());
  if (n > 0 && chunk % 8 == 0 && tiled_chunks_fit(x, chunk)) {  // one pass over x
    reduce_tiled<ChunkReduce::absmean>(op, x, n, chunk, 1.0f, unit, SignBits{bits});
    return;
  }
  reduce_chunks(op, ChunkReduce::absmean, x, n, chunk, 1.0f, unit);
  if (n == 0) return;
  sign_bits_kernel<<<op.grid((n + 7) / 8), block_threads, 0, op.s()>>>(x, bits, n);
  op.launched("sign_pack");
}
TANDEM_KERNEL(cuda_kernels, sign_pack, sign_pack);

void sign_unpack(const OpCall& c) {
  const Op op(c);
  const int64_t n = c.out[0]->numel();
  if (n == 0) return;
  const auto* bits = static_cast<const uint8_t*>(c.in[0]->data());
  const auto* unit = static_cast<const float*>(c.in[1]->data());
  auto* y = static_cast<float*>(c.out[0]->data());
  const int64_t chunk = c.param<ChunkParams>().chunk;
  if (chunk % 4 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0)
    sign_unpack_x4_kernel<<<op.grid(std::max<int64_t>(n / 4, 1)), block_threads, 0, op.s()>>>(bits, unit, y, n, chunk);
  else
    sign_unpack_kernel<<<op.grid(n), block_threads, 0, op.s()>>>(bits, unit, y, n, chunk);
  op.launched("sign_unpack");
}
TANDEM_KERNEL(cuda_kernels, sign_unpack, sign_unpack);

void pack_bits(const OpCall& c) {
  const Op op(c);
  const auto& p = c.param<BitPackParams>();
  const int64_t n = c.in[0]->numel();
  if (n == 0) return;
  const auto* q = static_cast<const int8_t*>(c.in[0]->data());
  auto* bits = static_cast<uint8_t*>(c.out[0]->data());
  const unsigned grid = op.grid(std::max<int64_t>(n / 16, 1));
  switch (p.width) {  // the op's checks keep it within 1 … 8
    case 1:
      pack_kernel<1><<<grid, block_threads, 0, op.s()>>>(q, bits, n, p.offset);
      break;
    case 2:
      pack_kernel<2><<<grid, block_threads, 0, op.s()>>>(q, bits, n, p.offset);
      break;
    case 3:
      pack_kernel<3><<<grid, block_threads, 0, op.s()>>>(q, bits, n, p.offset);
      break;
    case 4:
      pack_kernel<4><<<grid, block_threads, 0, op.s()>>>(q, bits, n, p.offset);
      break;
    case 5:
      pack_kernel<5><<<grid, block_threads, 0, op.s()>>>(q, bits, n, p.offset);
      break;
    case 6:
      pack_kernel<6><<<grid, block_threads, 0, op.s()>>>(q, bits, n, p.offset);
      break;
    case 7:
      pack_kernel<7><<<grid, block_threads, 0, op.s()>>>(q, bits, n, p.offset);
      break;
    default:
      pack_kernel<8><<<grid, block_threads, 0, op.s()>>>(q, bits, n, p.offset);
      break;
  }
  op.launched("pack_bits");
}
TANDEM_KERNEL(cuda_kernels, pack_bits, pack_bits);

void unpack_bits(const OpCall& c) {
  const Op op(c);
  const auto& p = c.param<BitPackParams>();
  const int64_t n = c.out[0]->numel();
  if (n == 0) return;
  unpack_kernel<<<op.grid((n + 7) / 8), block_threads, 0, op.s()>>>(
      static_cast<const uint8_t*>(c.in[0]->data()), static_cast<int8_t*>(c.out[0]->data()), n, p.width, p.offset);
  op.launched("unpack_bits");
}
TANDEM_KERNEL(cuda_kernels, unpack_bits, unpack_bits);

}  // namespace tandem::cuda
