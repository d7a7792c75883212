// Gradient accumulation and error feedback on the card: y = alpha·x (+ y), one multiply-add per
// element per cycle — what micro-batch accumulation, EF compensation (y = g, x = residual) and
// the EF update (residual = g − decoded) need, so residuals never leave the device.
#include "cores.h"
#include "tandem_hls/trips.h"

extern "C" void tandem_axpy(const float* x, float* y, float alpha, int n, int start) {
#pragma HLS INTERFACE m_axi port = x offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = y offset = slave bundle = gmem1
#pragma HLS INTERFACE s_axilite port = alpha
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = start
#pragma HLS INTERFACE s_axilite port = return
elements:
  for (int i = 0; i < n; ++i) {
#pragma HLS PIPELINE II = 1
    TANDEM_TRIP("accumulate");
    y[i] = start ? alpha * x[i] : alpha * x[i] + y[i];
  }
}
