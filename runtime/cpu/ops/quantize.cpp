// Dense codec primitives on the CPU: one chunk (or one group of 8 packed fields) per parallel
// iteration.
#include <algorithm>
#include <cmath>

#include "../kernels.h"
#include "tandem/compression/bitpack.h"

namespace tandem::cpu {
namespace {

// Calls f(c, first, count) for every chunk of a flat tensor of n elements.
template <class F>
void for_chunks(int64_t n, int64_t chunk, F f) {
  parallel_for((n + chunk - 1) / chunk, n, [&](int64_t c) { f(c, c * chunk, std::min(chunk, n - c * chunk)); });
}

// The chunk reductions, shared by the standalone ops and the fused quantize.
float absmax(const float* x, int64_t count) {
  float m = 0;
  for (int64_t i = 0; i < count; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}
float norm2(const float* x, int64_t count) {
  double sum = 0;
  for (int64_t i = 0; i < count; ++i) sum += double(x[i]) * x[i];
  return static_cast<float>(std::sqrt(sum));
}
float absmean(const float* x, int64_t count) {
  double sum = 0;
  for (int64_t i = 0; i < count; ++i) sum += std::fabs(x[i]);
  return static_cast<float>(sum / static_cast<double>(count));
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
void chunk_norm2(const OpCall& call) { chunk_reduce<norm2>(call); }
void chunk_absmean(const OpCall& call) { chunk_reduce<absmean>(call); }

void sign_pack(const OpCall& call) {
  const float* x = static_cast<const float*>(call.in[0]->data());
  uint8_t* bits = static_cast<uint8_t*>(call.out[0]->data());
  const int64_t n = call.in[0]->numel();
  parallel_for((n + 7) / 8, n, [&](int64_t b) {
    uint8_t byte = 0;
    for (int64_t i = b * 8; i < std::min(n, b * 8 + 8); ++i)
      byte |= static_cast<uint8_t>((x[i] >= 0.0f ? 1u : 0u) << (i & 7));
    bits[b] = byte;
  });
}

void sign_unpack(const OpCall& call) {
  const uint8_t* bits = static_cast<const uint8_t*>(call.in[0]->data());
  const float* unit = static_cast<const float*>(call.in[1]->data());
  float* y = static_cast<float*>(call.out[0]->data());
  for_chunks(call.out[0]->numel(), call.param<ChunkParams>().chunk, [&](int64_t c, int64_t first, int64_t count) {
    for (int64_t i = first; i < first + count; ++i) y[i] = (bits[i >> 3] >> (i & 7)) & 1u ? unit[c] : -unit[c];
  });
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
    compression::RandomWords words(p.key);
    for (int64_t i = first; i < first + count; ++i) {
      const float v = x[i] / u;  // IEEE division: every backend must compute exactly this
      float r;
      if (p.stochastic) {
        const float lo = std::floor(v);
        r = lo + (compression::uniform_from(words(static_cast<uint64_t>(i))) < v - lo ? 1.0f : 0.0f);
      } else {
        r = std::nearbyint(v);
      }
      q[i] = std::isfinite(v) ? static_cast<int8_t>(std::clamp(r, -top, top)) : int8_t{0};
    }
  });
}

void dequantize(const OpCall& call) {
  const int8_t* q = static_cast<const int8_t*>(call.in[0]->data());
  const float* unit = static_cast<const float*>(call.in[1]->data());
  float* y = static_cast<float*>(call.out[0]->data());
  for_chunks(call.in[0]->numel(), call.param<ChunkParams>().chunk, [&](int64_t c, int64_t first, int64_t count) {
    for (int64_t i = first; i < first + count; ++i) y[i] = static_cast<float>(q[i]) * unit[c];
  });
}

void pack_bits(const OpCall& call) {
  const auto& p = call.param<BitPackParams>();
  const int8_t* q = static_cast<const int8_t*>(call.in[0]->data());
  uint8_t* bits = static_cast<uint8_t*>(call.out[0]->data());
  const int64_t n = call.in[0]->numel();
  const unsigned mask = (1u << p.width) - 1;
  // Group g (elements 8g … 8g+7) fills bytes g·width … g·width + width − 1.
  parallel_for((n + 7) / 8, n, [&](int64_t g) {
    const int count = static_cast<int>(std::min<int64_t>(8, n - 8 * g));
    uint8_t fields[8];
    for (int j = 0; j < count; ++j) fields[j] = static_cast<uint8_t>((q[8 * g + j] + p.offset) & mask);
    compression::pack_group(fields, count, p.width, bits + g * p.width);
  });
}

void unpack_bits(const OpCall& call) {
  const auto& p = call.param<BitPackParams>();
  const uint8_t* bits = static_cast<const uint8_t*>(call.in[0]->data());
  int8_t* q = static_cast<int8_t*>(call.out[0]->data());
  const int64_t n = call.out[0]->numel();
  parallel_for((n + 7) / 8, n, [&](int64_t g) {
    const int count = static_cast<int>(std::min<int64_t>(8, n - 8 * g));
    uint8_t fields[8];
    compression::unpack_group(bits + g * p.width, count, p.width, fields);
    for (int j = 0; j < count; ++j) q[8 * g + j] = static_cast<int8_t>(fields[j] - p.offset);
  });
}

}  // namespace tandem::cpu
