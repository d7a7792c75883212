// Dense codec primitives on the CPU: one chunk (or one group of 8 packed fields) per parallel
// iteration.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "../kernels.h"
#include "tandem/numeric/bitpack.h"
#include "tandem/numeric/levels.h"

namespace tandem::cpu {
namespace {

static_assert(std::endian::native == std::endian::little, "bit packing moves little-endian 64-bit words");

// Calls f(c, first, count) for every chunk of a flat tensor of n elements.
template <class F>
void for_chunks(int64_t n, int64_t chunk, F f) {
  parallel_for((n + chunk - 1) / chunk, n, [&](int64_t c) { f(c, c * chunk, std::min(chunk, n - c * chunk)); });
}

// The chunk reductions, shared by the standalone ops and the fused quantize.
// On the bits of |x|, where integer order is float order: the loop vectorizes (a float max
// reduction does not, for NaN's sake). NaN (bits above infinity's) counts as 0.
float absmax(const float* x, int64_t count) {
  int32_t m = 0;  // the bits of |x| fit a signed int: SSE2 has signed compares only
  for (int64_t i = 0; i < count; ++i) {
    const int32_t a = std::bit_cast<int32_t>(x[i]) & 0x7fffffff;
    const int32_t v = a > 0x7f800000 ? 0 : a;
    m = v > m ? v : m;
  }
  return std::bit_cast<float>(m);
}
float norm2(const float* x, int64_t count) {
  double sum[4] = {0, 0, 0, 0};  // four partial sums: independent chains
  int64_t i = 0;
  for (; i + 4 <= count; i += 4)
    for (int j = 0; j < 4; ++j) sum[j] += double(x[i + j]) * x[i + j];
  for (; i < count; ++i) sum[0] += double(x[i]) * x[i];
  return static_cast<float>(std::sqrt((sum[0] + sum[1]) + (sum[2] + sum[3])));
}
float absmean(const float* x, int64_t count) {
  double sum[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= count; i += 4)
    for (int j = 0; j < 4; ++j) sum[j] += std::fabs(x[i + j]);
  for (; i < count; ++i) sum[0] += std::fabs(x[i]);
  return static_cast<float>(((sum[0] + sum[1]) + (sum[2] + sum[3])) / static_cast<double>(count));
}

template <float (*Reduce)(const float*, int64_t)>
void chunk_reduce(const OpCall& call) {
  const float* x = static_cast<const float*>(call.in[0]->data());
  float* s = static_cast<float*>(call.out[0]->data());
  for_chunks(call.in[0]->numel(), call.param<ChunkParams>().chunk,
             [&](int64_t c, int64_t first, int64_t count) { s[c] = Reduce(x + first, count); });
}

}  // namespace

void chunk_absmax(const OpCall& call) { chunk_reduce<absmax>(call); }
TANDEM_KERNEL(cpu_kernels, chunk_absmax, chunk_absmax);
void chunk_norm2(const OpCall& call) { chunk_reduce<norm2>(call); }
TANDEM_KERNEL(cpu_kernels, chunk_norm2, chunk_norm2);
void chunk_absmean(const OpCall& call) { chunk_reduce<absmean>(call); }
TANDEM_KERNEL(cpu_kernels, chunk_absmean, chunk_absmean);

// Bit j is 1 where x[j] ≥ 0, for count ≤ 8 elements.
inline uint8_t sign_byte(const float* x, int64_t count) {
#if defined(__x86_64__)
  if (count == 8) {  // two compares and two movemasks instead of eight branches
    const __m128 zero = _mm_setzero_ps();
    const int lo = _mm_movemask_ps(_mm_cmpge_ps(_mm_loadu_ps(x), zero));
    const int hi = _mm_movemask_ps(_mm_cmpge_ps(_mm_loadu_ps(x + 4), zero));
    return static_cast<uint8_t>(lo | (hi << 4));
  }
#endif
  unsigned byte = 0;
  for (int64_t j = 0; j < count; ++j) byte |= (x[j] >= 0.0f ? 1u : 0u) << j;
  return static_cast<uint8_t>(byte);
}

void sign_pack(const OpCall& call) {
  const float* x = static_cast<const float*>(call.in[0]->data());
  float* unit = static_cast<float*>(call.out[0]->data());
  uint8_t* bits = static_cast<uint8_t*>(call.out[1]->data());
  const int64_t n = call.in[0]->numel(), chunk = call.param<ChunkParams>().chunk;
  // Chunks of whole bytes can run in parallel; otherwise two chunks may share a byte.
  const int64_t groups = chunk % 8 == 0 ? (n + chunk - 1) / chunk : 1;
  const int64_t per = chunk % 8 == 0 ? chunk : n;
  parallel_for(groups, n, [&](int64_t g) {
    const int64_t first = g * per, last = std::min(n, first + per);
    for (int64_t c = first / chunk; c * chunk < last; ++c)
      unit[c] = absmean(x + c * chunk, std::min(chunk, n - c * chunk));
    for (int64_t b = first / 8; b * 8 < last; ++b) bits[b] = sign_byte(x + 8 * b, std::min<int64_t>(8, n - 8 * b));
  });
}
TANDEM_KERNEL(cpu_kernels, sign_pack, sign_pack);

void sign_unpack(const OpCall& call) {
  const uint8_t* bits = static_cast<const uint8_t*>(call.in[0]->data());
  const float* unit = static_cast<const float*>(call.in[1]->data());
  float* y = static_cast<float*>(call.out[0]->data());
  for_chunks(call.out[0]->numel(), call.param<ChunkParams>().chunk, [&](int64_t c, int64_t first, int64_t count) {
    // ±unit by setting the sign bit where the bit is 0: no branch, so the loop vectorizes.
    const uint32_t u = std::bit_cast<uint32_t>(unit[c]);
    auto one = [&](int64_t i) {
      y[i] = std::bit_cast<float>(u | ((~static_cast<uint32_t>(bits[i >> 3] >> (i & 7)) & 1u) << 31));
    };
    int64_t i = first;
    const int64_t end = first + count;
    for (; i < end && i % 8 != 0; ++i) one(i);
    for (; i + 8 <= end; i += 8) {  // a whole byte: eight outputs from one load
      const uint32_t byte = ~static_cast<uint32_t>(bits[i >> 3]);
      for (int j = 0; j < 8; ++j) y[i + j] = std::bit_cast<float>(u | (((byte >> j) & 1u) << 31));
    }
    for (; i < end; ++i) one(i);
  });
}
TANDEM_KERNEL(cpu_kernels, sign_unpack, sign_unpack);

using numeric::level_nearest;
using numeric::level_stochastic;

#if defined(__x86_64__)
// Philox4x32-10 on four blocks at once: each 64-bit lane holds one block's counter word in its
// low half, so _mm256_mul_epu32 forms the rounds' 32×32→64 products. Same arithmetic as
// philox.h, lane by lane; rnd receives the 16 uniforms of blocks block0 … block0 + 3.
__attribute__((target("avx2"))) void four_blocks_avx2(const numeric::RandomKey& key, uint64_t block0, float* rnd) {
  const __m256i low = _mm256_set1_epi64x(0xffffffff);
  const __m256i m0 = _mm256_set1_epi64x(0xD2511F53), m1 = _mm256_set1_epi64x(0xCD9E8D57);
  const auto lo = [](uint64_t v) { return static_cast<long long>(v & 0xffffffffu); };
  __m256i c0 = _mm256_set_epi64x(lo(block0 + 3), lo(block0 + 2), lo(block0 + 1), lo(block0));
  __m256i c1 =
      _mm256_set_epi64x(lo((block0 + 3) >> 32), lo((block0 + 2) >> 32), lo((block0 + 1) >> 32), lo(block0 >> 32));
  __m256i c2 = _mm256_set1_epi64x(key.step), c3 = _mm256_set1_epi64x(key.rank);
  uint32_t k0 = static_cast<uint32_t>(key.seed), k1 = static_cast<uint32_t>(key.seed >> 32);
  for (int round = 0; round < 10; ++round) {
    if (round > 0) k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
    const __m256i p0 = _mm256_mul_epu32(c0, m0), p1 = _mm256_mul_epu32(c2, m1);
    const __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), c1), _mm256_set1_epi64x(k0));
    const __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), c3), _mm256_set1_epi64x(k1));
    c0 = n0;
    c1 = _mm256_and_si256(p1, low);
    c2 = n2;
    c3 = _mm256_and_si256(p0, low);
  }
  alignas(32) uint64_t w[4][4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(w[0]), c0);
  _mm256_store_si256(reinterpret_cast<__m256i*>(w[1]), c1);
  _mm256_store_si256(reinterpret_cast<__m256i*>(w[2]), c2);
  _mm256_store_si256(reinterpret_cast<__m256i*>(w[3]), c3);
  for (int b = 0; b < 4; ++b)
    for (int k = 0; k < 4; ++k) rnd[4 * b + k] = numeric::uniform_from(static_cast<uint32_t>(w[k][b]));
}
const bool have_avx2 = __builtin_cpu_supports("avx2");
#endif

// rnd[j] = random_uniform(key, first + j) for j < m: one Philox block per four elements, four
// blocks per call of the AVX2 path where the CPU has it.
void uniforms(const numeric::RandomKey& key, uint64_t first, int64_t m, float* rnd) {
  int64_t j = 0;
#if defined(__x86_64__)
  if (have_avx2) {
    for (; j < m && (key.offset + first + static_cast<uint64_t>(j)) % 4 != 0; ++j)
      rnd[j] = numeric::random_uniform(key, first + static_cast<uint64_t>(j));
    for (; j + 16 <= m; j += 16) four_blocks_avx2(key, (key.offset + first + static_cast<uint64_t>(j)) / 4, rnd + j);
  }
#endif
  while (j < m) {
    const uint64_t p = key.offset + first + static_cast<uint64_t>(j);
    const numeric::PhiloxCounter w = numeric::random_block(key, p >> 2);
    for (uint64_t k = p & 3; k < 4 && j < m; ++k, ++j) rnd[j] = numeric::uniform_from(w[k]);
  }
}

// One chunk's levels; separate functions with restrict pointers so the loops vectorize.
void levels_nearest(const float* __restrict x, int8_t* __restrict q, int64_t n, float u, float top) {
  for (int64_t i = 0; i < n; ++i) q[i] = level_nearest(x[i] / u, top);  // IEEE division, as on every device
}
void levels_stochastic(const float* __restrict x, const float* __restrict rnd, int8_t* __restrict q, int64_t n, float u,
                       float top) {
  for (int64_t i = 0; i < n; ++i) q[i] = level_stochastic(x[i] / u, rnd[i], top);
}

void quantize(const OpCall& call) {
  const auto& p = call.param<QuantizeParams>();
  const float* x = static_cast<const float*>(call.in[0]->data());
  float* unit = static_cast<float*>(call.out[0]->data());
  int8_t* q = static_cast<int8_t*>(call.out[1]->data());
  const float top = static_cast<float>(p.levels);
  for_chunks(call.in[0]->numel(), p.chunk, [&](int64_t c, int64_t first, int64_t count) {
    // The chunk is still in cache from the reduction when it is quantized.
    const float u = (p.scale == QuantScale::absmax ? absmax(x + first, count) : norm2(x + first, count)) / top;
    unit[c] = u;
    if (!(u > 0.0f) || !std::isfinite(u)) {
      std::fill(q + first, q + first + count, int8_t{0});
      return;
    }
    const float* xc = x + first;
    int8_t* qc = q + first;
    if (!p.stochastic) {
      levels_nearest(xc, qc, count, u, top);
      return;
    }
    // Stochastic: up with probability v − ⌊v⌋. Uniforms for a block of elements first (Philox
    // is scalar), then a loop over the block that vectorizes.
    float rnd[256];
    for (int64_t b = 0; b < count; b += 256) {
      const int64_t m = std::min<int64_t>(256, count - b);
      uniforms(p.key, static_cast<uint64_t>(first + b), m, rnd);
      levels_stochastic(xc + b, rnd, qc + b, m, u, top);
    }
  });
}
TANDEM_KERNEL(cpu_kernels, quantize, quantize);

void dequantize(const OpCall& call) {
  const int8_t* q = static_cast<const int8_t*>(call.in[0]->data());
  const float* unit = static_cast<const float*>(call.in[1]->data());
  float* y = static_cast<float*>(call.out[0]->data());
  for_chunks(call.in[0]->numel(), call.param<ChunkParams>().chunk, [&](int64_t c, int64_t first, int64_t count) {
    for (int64_t i = first; i < first + count; ++i) y[i] = static_cast<float>(q[i]) * unit[c];
  });
}
TANDEM_KERNEL(cpu_kernels, dequantize, dequantize);

namespace {

// One instantiation per width (with_width), so the shifts and byte counts are constants.
// Group g (elements 8g … 8g+7) fills bytes g·W … g·W + W − 1; whole groups move as one
// 64-bit word (little-endian, as bitpack.h defines the stream), the last one field by field.
template <int W>
void pack_width(const int8_t* q, uint8_t* bits, int64_t n, int offset) {
  constexpr uint64_t mask = (uint64_t{1} << W) - 1;
  const int64_t full = n / 8;
  for_blocks(full, [&](int64_t first, int64_t count) {
    for (int64_t g = first; g < first + count; ++g) {
      uint64_t acc = 0;
      for (int j = 0; j < 8; ++j) acc |= (static_cast<uint64_t>(q[8 * g + j] + offset) & mask) << (j * W);
      std::memcpy(bits + g * W, &acc, W);
    }
  });
  if (full * 8 < n) {
    uint8_t fields[8];
    const int count = static_cast<int>(n - full * 8);
    for (int j = 0; j < count; ++j) fields[j] = static_cast<uint8_t>((q[8 * full + j] + offset) & mask);
    numeric::pack_group(fields, count, W, bits + full * W);
  }
}

template <int W>
void unpack_width(const uint8_t* bits, int8_t* q, int64_t n, int offset) {
  constexpr uint64_t mask = (uint64_t{1} << W) - 1;
  const int64_t full = n / 8;
  for_blocks(full, [&](int64_t first, int64_t count) {
    for (int64_t g = first; g < first + count; ++g) {
      uint64_t acc = 0;
      std::memcpy(&acc, bits + g * W, W);
      for (int j = 0; j < 8; ++j)
        q[8 * g + j] = static_cast<int8_t>(static_cast<int>((acc >> (j * W)) & mask) - offset);
    }
  });
  if (full * 8 < n) {
    uint8_t fields[8];
    const int count = static_cast<int>(n - full * 8);
    numeric::unpack_group(bits + full * W, count, W, fields);
    for (int j = 0; j < count; ++j) q[8 * full + j] = static_cast<int8_t>(fields[j] - offset);
  }
}

}  // namespace

void pack_bits(const OpCall& call) {
  const auto& p = call.param<BitPackParams>();
  const auto* q = static_cast<const int8_t*>(call.in[0]->data());
  auto* bits = static_cast<uint8_t*>(call.out[0]->data());
  numeric::with_width(p.width, [&](auto w) { pack_width<w>(q, bits, call.in[0]->numel(), p.offset); });
}
TANDEM_KERNEL(cpu_kernels, pack_bits, pack_bits);

void unpack_bits(const OpCall& call) {
  const auto& p = call.param<BitPackParams>();
  const auto* bits = static_cast<const uint8_t*>(call.in[0]->data());
  auto* q = static_cast<int8_t*>(call.out[0]->data());
  numeric::with_width(p.width, [&](auto w) { unpack_width<w>(bits, q, call.out[0]->numel(), p.offset); });
}
TANDEM_KERNEL(cpu_kernels, unpack_bits, unpack_bits);

}  // namespace tandem::cpu
