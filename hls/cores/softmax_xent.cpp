// Softmax cross-entropy: per row, the maximum, exp(x − max) with the sum in f64, the reciprocal
// once, the probabilities, and log-sum-exp for the loss (the CPU's arithmetic); the batch mean of
// the loss in f64. Backward: dlogits = (scale / n) · probs, minus scale / n at the label.
#include <cmath>

#include "cores.h"
#include "tandem_hls/trips.h"

extern "C" void tandem_softmax_xent_forward(const float* logits, const int32_t* labels, float* probs, float* loss, int n,
                                    int classes) {
#pragma HLS INTERFACE m_axi port = logits offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = labels offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = probs offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = loss offset = slave bundle = gmem3
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = classes
#pragma HLS INTERFACE s_axilite port = return
  double total = 0;
rows:
  for (int i = 0; i < n; ++i) {
    const float* row = logits + i * classes;
    float* out = probs + i * classes;
    float mx = row[0];
    for (int j = 1; j < classes; ++j) {
#pragma HLS PIPELINE II = 1
      TANDEM_TRIP("softmax.max");
      mx = row[j] > mx ? row[j] : mx;
    }
    double sum = 0;
    for (int j = 0; j < classes; ++j) {
#pragma HLS PIPELINE
      TANDEM_TRIP("softmax.exp");
      out[j] = std::exp(row[j] - mx);
      sum += out[j];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int j = 0; j < classes; ++j) {
#pragma HLS PIPELINE II = 1
      TANDEM_TRIP("softmax.scale");
      out[j] *= inv;
    }
    total += std::log(sum) + mx - row[labels[i]];
  }
  loss[0] = static_cast<float>(total / static_cast<double>(n));
}

extern "C" void tandem_softmax_xent_backward(const float* probs, const int32_t* labels, float* dlogits, float scale,
                                             int n, int classes) {
#pragma HLS INTERFACE m_axi port = probs offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = labels offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = dlogits offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = scale
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = classes
#pragma HLS INTERFACE s_axilite port = return
  const float g = scale / static_cast<float>(n);
rows:
  for (int i = 0; i < n; ++i) {
    const int label = labels[i];
    for (int j = 0; j < classes; ++j) {
#pragma HLS PIPELINE II = 1
      TANDEM_TRIP("softmax.backward");
      const float v = g * probs[i * classes + j];
      dlogits[i * classes + j] = j == label ? v - g : v;
    }
  }
}
