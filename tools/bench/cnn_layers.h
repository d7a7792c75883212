// The benchmark CNN's convolution layers (28×28×1 Fashion-MNIST input, batch 64), shared by
// `tandem bench` and the Google Benchmark programs.
#pragma once

#include <array>
#include <cstdint>

#include "bench/workloads.h"
#include "tandem/ops.h"

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

enum ConvPass { forward = 1, backward_data = 2, backward_weights = 4, all_passes = 7 };

/// One layer's tensors (random inputs, seeded) and its passes on a stream.
struct ConvWorkload {
  ConvWorkload(const Device& d, const ConvLayer& l, unsigned seed = 1)
      : params{1, 1, l.pad, l.pad},
        x(random_tensor(d, {l.n, l.c, l.h, l.w}, seed)),
        w(random_tensor(d, {l.k, l.c, l.r, l.s}, seed + 1)),
        dy(random_tensor(d, {l.n, l.k, window_out(l.h, l.r, 1, l.pad), window_out(l.w, l.s, 1, l.pad)}, seed + 2)),
        y(Tensor::empty(d, dy.shape())),
        dx(Tensor::empty(d, x.shape())),
        dw(Tensor::empty(d, w.shape())) {}

  /// Runs the passes in the ConvPass bit set.
  void run(Stream& s, int passes) const {
    if (passes & forward) ops::conv2d_forward(s, x, w, y, params);
    if (passes & backward_data) ops::conv2d_backward_data(s, dy, w, dx, params);
    if (passes & backward_weights) ops::conv2d_backward_weights(s, x, dy, dw, params);
  }

  Conv2dParams params;
  Tensor x, w, dy, y, dx, dw;
};

}  // namespace tandem::bench
