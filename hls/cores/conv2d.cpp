// Convolution core: implicit GEMM. Output channels are the rows and output pixels the columns
// of a product whose reduction runs over (input channel, kernel row, kernel column); the
// im2col columns are never stored — a producer computes them from x (zero where the window
// hangs over the padding) and streams them into the B tile of the same MAC engine as the GEMM
// core, while the weight tile is burst-read.
#include "cores.h"
#include "implicit_gemm.h"

using namespace tandem_hls;

extern "C" void tandem_conv2d_forward(const float* x, const float* wt, float* y, int n, int c, int h, int w, int k, int r,
                              int s, int stride_h, int stride_w, int pad_h, int pad_w) {
#pragma HLS INTERFACE m_axi port = x offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = wt offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = y offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = c
#pragma HLS INTERFACE s_axilite port = h
#pragma HLS INTERFACE s_axilite port = w
#pragma HLS INTERFACE s_axilite port = k
#pragma HLS INTERFACE s_axilite port = r
#pragma HLS INTERFACE s_axilite port = s
#pragma HLS INTERFACE s_axilite port = stride_h
#pragma HLS INTERFACE s_axilite port = stride_w
#pragma HLS INTERFACE s_axilite port = pad_h
#pragma HLS INTERFACE s_axilite port = pad_w
#pragma HLS INTERFACE s_axilite port = return
  const int p_out = (h + 2 * pad_h - r) / stride_h + 1, q_out = (w + 2 * pad_w - s) / stride_w + 1;
  const int pixels = p_out * q_out, crs = c * r * s;
images:
  for (int img = 0; img < n; ++img) {
    const float* xi = x + img * c * h * w;
    float* yi = y + img * k * pixels;
    implicit_gemm(
        k, pixels, crs, [&](int ki, int q) { return wt[ki * crs + q]; },
        [&](int q, int pix) {  // im2col(x) at (ci, r, s) × pixel; zero over the padding
          const int ci = q / (r * s), rs = q % (r * s);
          const int row = (pix / q_out) * stride_h + rs / s - pad_h, col = (pix % q_out) * stride_w + rs % s - pad_w;
          return row >= 0 && row < h && col >= 0 && col < w ? xi[(ci * h + row) * w + col] : 0.0f;
        },
        [&](int ki, int pix, float v) { yi[ki * pixels + pix] = v; },
        {"conv.clear", "conv.load_w", "conv.im2col", "conv.store"});
  }
}
