// Per-chunk reductions exactly as the CPU kernels compute them (same operations in the same
// order), so the cores' scales — and everything quantized with them — are bit-identical.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "tandem_hls/trips.h"

namespace tandem_hls {

inline uint32_t bits_of(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return u;
}
inline float float_of(uint32_t u) {
  float v;
  std::memcpy(&v, &u, 4);
  return v;
}

/// max |x| on the bits of |x| (integer order is float order); NaN counts as 0.
inline float chunk_absmax(const float* x, int count) {
  uint32_t m = 0;
  for (int i = 0; i < count; ++i) {
#pragma HLS PIPELINE II = 1
    TANDEM_TRIP("chunk.absmax");
    const uint32_t a = bits_of(x[i]) & 0x7fffffffu;
    const uint32_t v = a > 0x7f800000u ? 0u : a;
    m = v > m ? v : m;
  }
  return float_of(m);
}

// Four interleaved f64 partial sums (lane i % 4), the tail into lane 0, then (s0+s1)+(s2+s3):
// the CPU's order. In hardware the four lanes are four accumulators, which also hides the
// double adder's latency at II=1.
template <class Term>
inline double chunk_sum4(const float* x, int count, Term term) {
  double sum[4] = {0, 0, 0, 0};
#pragma HLS ARRAY_PARTITION variable = sum complete
  int i = 0;
  for (; i + 4 <= count; i += 4) {
#pragma HLS PIPELINE II = 1
    TANDEM_TRIP("chunk.sum4");
    for (int j = 0; j < 4; ++j) sum[j] += term(x[i + j]);
  }
  for (; i < count; ++i) sum[0] += term(x[i]);
  return (sum[0] + sum[1]) + (sum[2] + sum[3]);
}

inline float chunk_norm2(const float* x, int count) {
  return static_cast<float>(std::sqrt(chunk_sum4(x, count, [](float v) { return double(v) * v; })));
}
inline float chunk_absmean(const float* x, int count) {
  return static_cast<float>(chunk_sum4(x, count, [](float v) { return double(std::fabs(v)); }) /
                            static_cast<double>(count));
}

}  // namespace tandem_hls
