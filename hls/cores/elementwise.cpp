// The element-wise vector unit: the small ops of training (SGD's scale, masks, ReLU and its
// gradient, fills, sums) in one core selected by an opcode register, one element per cycle.
#include "cores.h"
#include "tandem_hls/trips.h"

extern "C" void tandem_elementwise(int op, const float* a, const float* b, float* y, float alpha, int n) {
#pragma HLS INTERFACE m_axi port = a offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = b offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = y offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = op
#pragma HLS INTERFACE s_axilite port = alpha
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = return
elements:
  for (int i = 0; i < n; ++i) {
#pragma HLS PIPELINE II = 1
    TANDEM_TRIP("vector");
    float v;
    switch (op) {
      case 0:
        v = alpha;
        break;
      case 1:
        v = alpha * y[i];
        break;
      case 2:
        v = a[i] + b[i];
        break;
      case 3:
        v = a[i] * b[i];
        break;
      case 4:
        v = a[i] > 0.0f ? a[i] : 0.0f;
        break;
      case 5:
        v = a[i] > 0.0f ? b[i] : 0.0f;
        break;
      case 6:
        v = a[i] - b[i];
        break;
      default:
        v = 0.0f;
        break;
    }
    y[i] = v;
  }
}
