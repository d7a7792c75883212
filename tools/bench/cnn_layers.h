// The benchmark CNN's convolution layers (28×28×1 Fashion-MNIST input, batch 64), shared by
// `tandem bench` and the Google Benchmark programs.
#pragma once

#include <array>
#include <cstdint>

namespace tandem::bench {

struct ConvLayer {
  const char* name;
  int64_t n, c, h, w, k, r, s;
  int pad;
};

inline constexpr std::array<ConvLayer, 2> cnn_conv_layers{{
    {"conv1 1→16 28×28", 64, 1, 28, 28, 16, 3, 3, 1},
    {"conv2 16→32 14×14", 64, 16, 14, 14, 32, 3, 3, 1},
}};

/// FLOPs of one pass (forward, backward-data or backward-weights: the same count each).
inline double conv_flops(const ConvLayer& l) {
  const int64_t p = l.h + 2 * l.pad - l.r + 1, q = l.w + 2 * l.pad - l.s + 1;
  return 2.0 * static_cast<double>(l.n * l.k * p * q * l.c * l.r * l.s);
}

}  // namespace tandem::bench
