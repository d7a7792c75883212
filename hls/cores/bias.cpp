// Bias forward (a broadcast add per channel, in place) and backward (a per-channel reduction,
// in f64 as the CPU sums: a channel collects N × inner terms).
#include "cores.h"
#include "tandem_hls/trips.h"

extern "C" void tandem_bias(const float* bias_or_dy, float* y_or_dbias, int n, int c, int inner, int backward) {
#pragma HLS INTERFACE m_axi port = bias_or_dy offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = y_or_dbias offset = slave bundle = gmem1
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = c
#pragma HLS INTERFACE s_axilite port = inner
#pragma HLS INTERFACE s_axilite port = backward
#pragma HLS INTERFACE s_axilite port = return
  if (!backward) {
  rows:
    for (int row = 0; row < n * c; ++row) {
      const float v = bias_or_dy[row % c];
      for (int i = 0; i < inner; ++i) {
#pragma HLS PIPELINE II = 1
        TANDEM_TRIP("bias.add");
        y_or_dbias[row * inner + i] += v;
      }
    }
    return;
  }
channels:
  for (int ch = 0; ch < c; ++ch) {
    double sum = 0;  // one accumulator: II is the f64 adder's latency
    for (int img = 0; img < n; ++img)
      for (int i = 0; i < inner; ++i) {
#pragma HLS PIPELINE
        TANDEM_TRIP("bias.sum");
        sum += bias_or_dy[(img * c + ch) * inner + i];
      }
    y_or_dbias[ch] = static_cast<float>(sum);
  }
}
