// Sign compression (1 bit per element plus each chunk's mean magnitude) and fixed-width bit
// packing (compression/bitpack.h's layout: group g of 8 fields fills bytes g·W … g·W + W − 1).
// One thread per output byte or per group of 8 fields; bit-identical to the CPU.
#include "common.cuh"
#include "op.h"
#include "tandem/compression/bitpack.h"

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

// ±unit by setting the sign bit where the element's bit is 0, as the CPU does.
__global__ void sign_unpack_kernel(const uint8_t* bits, const float* unit, float* y, int64_t n, int64_t chunk) {
  TANDEM_GRID_LOOP(i, n) {
    const uint32_t u = __float_as_uint(unit[i / chunk]);
    y[i] = __uint_as_float(u | ((~static_cast<uint32_t>(bits[i >> 3] >> (i & 7)) & 1u) << 31));
  }
}

__global__ void pack_kernel(const int8_t* q, uint8_t* bits, int64_t n, int width, int offset) {
  const uint64_t mask = (uint64_t{1} << width) - 1;
  TANDEM_GRID_LOOP(g, (n + 7) / 8) {
    const int64_t count = n - 8 * g < 8 ? n - 8 * g : 8;
    uint64_t acc = 0;
    for (int64_t j = 0; j < count; ++j)
      acc |= (static_cast<uint64_t>(static_cast<int>(q[8 * g + j]) + offset) & mask) << (j * width);
    const int64_t bytes = compression::packed_bytes(count, width);  // width bytes for a whole group
    for (int64_t b = 0; b < bytes; ++b) bits[g * width + b] = static_cast<uint8_t>(acc >> (8 * b));
  }
}

__global__ void unpack_kernel(const uint8_t* bits, int8_t* q, int64_t n, int width, int offset) {
  const uint64_t mask = (uint64_t{1} << width) - 1;
  TANDEM_GRID_LOOP(g, (n + 7) / 8) {
    const int64_t count = n - 8 * g < 8 ? n - 8 * g : 8;
    const int64_t bytes = compression::packed_bytes(count, width);
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
  const int64_t n = c.in[0]->numel();
  reduce_chunks(op, ChunkReduce::absmean, x, n, c.param<ChunkParams>().chunk, 1.0f,
                static_cast<float*>(c.out[0]->data()));
  if (n == 0) return;
  sign_bits_kernel<<<op.grid((n + 7) / 8), block_threads, 0, op.s()>>>(x, static_cast<uint8_t*>(c.out[1]->data()), n);
  op.launched("sign_pack");
}

void sign_unpack(const OpCall& c) {
  const Op op(c);
  const int64_t n = c.out[0]->numel();
  if (n == 0) return;
  sign_unpack_kernel<<<op.grid(n), block_threads, 0, op.s()>>>(
      static_cast<const uint8_t*>(c.in[0]->data()), static_cast<const float*>(c.in[1]->data()),
      static_cast<float*>(c.out[0]->data()), n, c.param<ChunkParams>().chunk);
  op.launched("sign_unpack");
}

void pack_bits(const OpCall& c) {
  const Op op(c);
  const auto& p = c.param<BitPackParams>();
  const int64_t n = c.in[0]->numel();
  if (n == 0) return;
  pack_kernel<<<op.grid((n + 7) / 8), block_threads, 0, op.s()>>>(
      static_cast<const int8_t*>(c.in[0]->data()), static_cast<uint8_t*>(c.out[0]->data()), n, p.width, p.offset);
  op.launched("pack_bits");
}

void unpack_bits(const OpCall& c) {
  const Op op(c);
  const auto& p = c.param<BitPackParams>();
  const int64_t n = c.out[0]->numel();
  if (n == 0) return;
  unpack_kernel<<<op.grid((n + 7) / 8), block_threads, 0, op.s()>>>(
      static_cast<const uint8_t*>(c.in[0]->data()), static_cast<int8_t*>(c.out[0]->data()), n, p.width, p.offset);
  op.launched("unpack_bits");
}

}  // namespace tandem::cuda
