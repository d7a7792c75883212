// Dense codec primitives: per-chunk abs-max, L2 norm and mean magnitude, quantize (nearest or
// stochastic, Philox-keyed) and dequantize. Bit-identical to the CPU: the sums run per chunk in
// the CPU's order (four double partial sums over x[i], x[i+1], x[i+2], x[i+3], the tail into the
// first, combined as (s0 + s1) + (s2 + s3)), so one thread owns a chunk; abs-max does not depend
// on order and spreads a large chunk over a block. Levels come from compression/levels.h itself.
#include <algorithm>

#include "common.cuh"
#include "op.h"
#include "tandem/compression/levels.h"

namespace tandem::cuda {
namespace {

// |x| as bits, where integer order is float order; NaN (bits above infinity's) counts as 0.
__device__ inline uint32_t abs_bits(float v) {
  const uint32_t a = __float_as_uint(v) & 0x7fffffffu;
  return a > 0x7f800000u ? 0u : a;
}

// r / divisor in IEEE division; r itself for the plain reductions (so NaN keeps its bits).
__device__ inline float divided(float r, float divisor) { return divisor == 1.0f ? r : __fdiv_rn(r, divisor); }

// One chunk's four partial sums of term(x), the CPU's way. float4 loads where aligned.
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

template <ChunkReduce R>
__global__ void reduce_per_thread(const float* x, int64_t n, int64_t chunk, float divisor, float* out) {
  TANDEM_GRID_LOOP(c, (n + chunk - 1) / chunk) {
    const float* xc = x + c * chunk;
    const int64_t count = n - c * chunk < chunk ? n - c * chunk : chunk;
    float r;
    if constexpr (R == ChunkReduce::absmax) {
      uint32_t m = 0;
      for (int64_t i = 0; i < count; ++i) m = max(m, abs_bits(xc[i]));
      r = __uint_as_float(m);
    } else if constexpr (R == ChunkReduce::norm2) {
      r = static_cast<float>(sqrt(chunk_sum(xc, count, [](float v) { return double(v) * double(v); })));
    } else {
      r = static_cast<float>(chunk_sum(xc, count, [](float v) { return double(fabsf(v)); }) / double(count));
    }
    out[c] = divided(r, divisor);
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
    const float u = unit[i / chunk];
    q[i] = usable_unit(u) ? compression::level_nearest(__fdiv_rn(x[i], u), top) : int8_t{0};
  }
}

// One thread per Philox block: the four words feed four consecutive elements, as on the CPU.
__global__ void levels_stochastic_kernel(const float* x, const float* unit, int8_t* q, int64_t n, int64_t chunk,
                                         float top, compression::RandomKey key, uint64_t blocks) {
  TANDEM_GRID_LOOP(t, static_cast<int64_t>(blocks)) {
    for_philox_block(key, n, static_cast<uint64_t>(t), [&](int64_t i, uint32_t word) {
      const float u = unit[i / chunk];
      q[i] = usable_unit(u) ? compression::level_stochastic(__fdiv_rn(x[i], u), compression::uniform_from(word), top)
                            : int8_t{0};
    });
  }
}

__global__ void dequantize_kernel(const int8_t* q, const float* unit, float* y, int64_t n, int64_t chunk) {
  TANDEM_GRID_LOOP(i, n) y[i] = __fmul_rn(static_cast<float>(q[i]), unit[i / chunk]);
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
void chunk_norm2(const OpCall& c) { reduce_op(c, ChunkReduce::norm2); }
void chunk_absmean(const OpCall& c) { reduce_op(c, ChunkReduce::absmean); }

void quantize(const OpCall& c) {
  const Op op(c);
  const auto& p = c.param<QuantizeParams>();
  const float* x = static_cast<const float*>(c.in[0]->data());
  float* unit = static_cast<float*>(c.out[0]->data());
  int8_t* q = static_cast<int8_t*>(c.out[1]->data());
  const int64_t n = c.in[0]->numel();
  const float top = static_cast<float>(p.levels);
  // unit = (max |x| or ‖x‖₂) / levels, then every element against its chunk's unit.
  reduce_chunks(op, p.scale == QuantScale::absmax ? ChunkReduce::absmax : ChunkReduce::norm2, x, n, p.chunk, top, unit);
  if (n == 0) return;
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

void dequantize(const OpCall& c) {
  const Op op(c);
  const int64_t n = c.in[0]->numel();
  if (n == 0) return;
  dequantize_kernel<<<op.grid(n), block_threads, 0, op.s()>>>(
      static_cast<const int8_t*>(c.in[0]->data()), static_cast<const float*>(c.in[1]->data()),
      static_cast<float*>(c.out[0]->data()), n, c.param<ChunkParams>().chunk);
  op.launched("dequantize");
}

}  // namespace tandem::cuda
