// Bias + ReLU + max-pool fused: each input value is read once, biased and rectified on the way
// in, and the pool keeps the running maximum of its window — the three ops of a conv layer's
// tail without two round trips through memory. Window order and ties as the CPU's maxpool (row
// by row, first maximum kept; −inf start), so results are bit-identical.
#include "cores.h"
#include "pool_window.h"
#include "tandem_hls/trips.h"

extern "C" void tandem_bias_relu_pool(const float* x, const float* bias, float* y, int* idx, int n, int c, int h, int w,
                                      int pool, int stride) {
#pragma HLS INTERFACE m_axi port = x offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = bias offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = y offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = idx offset = slave bundle = gmem3
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = c
#pragma HLS INTERFACE s_axilite port = h
#pragma HLS INTERFACE s_axilite port = w
#pragma HLS INTERFACE s_axilite port = pool
#pragma HLS INTERFACE s_axilite port = stride
#pragma HLS INTERFACE s_axilite port = return
  const int ph = (h - pool) / stride + 1, pw = (w - pool) / stride + 1;
planes:
  for (int plane = 0; plane < n * c; ++plane) {
    const float b = bias[plane % c];
    const float* in = x + plane * h * w;
  outputs:  // one output per pool² cycles: the window's reads share one port
    for (int o = 0; o < ph * pw; ++o) {
#pragma HLS PIPELINE II = pool * pool
      TANDEM_TRIP("pool.outputs");
      int arg;
      const float best = tandem_hls::window_max(
          in, w, o / pw, o % pw, pool, stride,
          [b](float x) {
            const float v = x + b;
            return v > 0.0f ? v : 0.0f;
          },
          arg);
      y[plane * ph * pw + o] = best;
      idx[plane * ph * pw + o] = arg;
    }
  }
}
