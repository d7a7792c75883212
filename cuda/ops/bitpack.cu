// Sign compression (1 bit per element plus each chunk's mean magnitude) and fixed-width bit
// packing (compression/bitpack.h's layout: group g of 8 fields fills bytes g·W … g·W + W − 1).
// sign_pack makes its bits from chunk tiles where the chunks tile; the rest take a thread per
// byte, per four elements or per group of 8 fields. Bit-identical to the CPU.
#include <algorithm>
#include <type_traits>

#include "chunk_tiles.cuh"
#include "common.cuh"
#include "op.h"
#include "tandem/numeric/bitpack.h"

namespace tandem::cuda {
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
