// Codec primitives on the CPU: one chunk per parallel iteration.
#include <algorithm>
#include <cmath>

#include "../kernels.h"

namespace tandem::cpu {
namespace {

// Calls f(c, first, count) for every chunk of a flat tensor of n elements.
template <class F>
void for_chunks(int64_t n, int64_t chunk, F f) {
  parallel_for((n + chunk - 1) / chunk, n, [&](int64_t c) { f(c, c * chunk, std::min(chunk, n - c * chunk)); });
}

}  // namespace

void chunk_absmax(const OpCall& call) {
  const float* x = static_cast<const float*>(call.in[0]->data());
  float* s = static_cast<float*>(call.out[0]->data());
  for_chunks(call.in[0]->numel(), call.param<ChunkParams>().chunk, [&](int64_t c, int64_t first, int64_t count) {
    float m = 0;
    for (int64_t i = first; i < first + count; ++i) m = std::max(m, std::fabs(x[i]));
    s[c] = m;
  });
}

void chunk_norm2(const OpCall& call) {
  const float* x = static_cast<const float*>(call.in[0]->data());
  float* s = static_cast<float*>(call.out[0]->data());
  for_chunks(call.in[0]->numel(), call.param<ChunkParams>().chunk, [&](int64_t c, int64_t first, int64_t count) {
    double sum = 0;
    for (int64_t i = first; i < first + count; ++i) sum += double(x[i]) * x[i];
    s[c] = static_cast<float>(std::sqrt(sum));
  });
}

void chunk_absmean(const OpCall& call) {
  const float* x = static_cast<const float*>(call.in[0]->data());
  float* s = static_cast<float*>(call.out[0]->data());
  for_chunks(call.in[0]->numel(), call.param<ChunkParams>().chunk, [&](int64_t c, int64_t first, int64_t count) {
    double sum = 0;
    for (int64_t i = first; i < first + count; ++i) sum += std::fabs(x[i]);
    s[c] = static_cast<float>(sum / static_cast<double>(count));
  });
}

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
  const float* unit = static_cast<const float*>(call.in[1]->data());
  int8_t* q = static_cast<int8_t*>(call.out[0]->data());
  const float top = static_cast<float>(p.levels);
  for_chunks(call.in[0]->numel(), p.chunk, [&](int64_t c, int64_t first, int64_t count) {
    const float u = unit[c];
    for (int64_t i = first; i < first + count; ++i) {
      if (!(u > 0.0f) || !std::isfinite(x[i])) {
        q[i] = 0;
        continue;
      }
      const float v = x[i] / u;  // IEEE division: every backend must compute exactly this
      float r;
      if (p.stochastic) {
        const float lo = std::floor(v);
        r = lo + (compression::random_uniform(p.key, static_cast<uint64_t>(i)) < v - lo ? 1.0f : 0.0f);
      } else {
        r = std::nearbyint(v);
      }
      q[i] = static_cast<int8_t>(std::clamp(r, -top, top));
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

}  // namespace tandem::cpu
