// Convolution core: implicit GEMM. Output channels are the rows and output pixels the columns
// of a product whose reduction runs over (input channel, kernel row, kernel column); the
// im2col columns are never stored — a producer computes them from x (zero where the window
// hangs over the padding) and streams them into the B tile of the same MAC engine as the GEMM
// core, while the weight tile is burst-read.
#include "cores.h"
#include "gemm_engine.h"
#include "tandem_hls/hls_compat.h"

using namespace tandem_hls;

namespace {

struct ConvShape {
  int c, h, w, r, s, sh, sw, ph, pw, q_out, pixels, crs;
};

// The im2col values of reduction rows [q0, q0 + kd) for pixels [p0, p0 + TN) of one image.
void im2col(const float* x, const ConvShape& g, int q0, int kd, int p0, hls::stream<float>& out) {
rows:
  for (int kk = 0; kk < kd; ++kk)
    for (int j = 0; j < kTileN; ++j) {
#pragma HLS PIPELINE II = 1
      TANDEM_TRIP("conv.im2col");
      const int q = q0 + kk, pix = p0 + j;
      float v = 0.0f;
      if (pix < g.pixels) {
        const int ci = q / (g.r * g.s), rs = q % (g.r * g.s);
        const int row = (pix / g.q_out) * g.sh + rs / g.s - g.ph, col = (pix % g.q_out) * g.sw + rs % g.s - g.pw;
        if (row >= 0 && row < g.h && col >= 0 && col < g.w) v = x[(ci * g.h + row) * g.w + col];
      }
      out.write(v);
    }
}

void fill_b(hls::stream<float>& in, float bt[kTileK][kTileN], int kd) {
  for (int kk = 0; kk < kd; ++kk)
    for (int j = 0; j < kTileN; ++j) {
#pragma HLS PIPELINE II = 1
      bt[kk][j] = in.read();
    }
}

}  // namespace

extern "C" void tandem_conv2d(const float* x, const float* wt, float* y, int n, int c, int h, int w, int k, int r,
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
  const ConvShape g{c, h, w, r, s, stride_h, stride_w, pad_h, pad_w, q_out, p_out * q_out, c * r * s};
  static float acc[kTileM][kTileN];
  static float at[kTileM][kTileK];
  static float bt[kTileK][kTileN];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
#pragma HLS ARRAY_PARTITION variable = bt complete dim = 2
images:
  for (int img = 0; img < n; ++img) {
    const float* xi = x + img * c * h * w;
    float* yi = y + img * k * g.pixels;
    for (int k0 = 0; k0 < k; k0 += kTileM)
      for (int p0 = 0; p0 < g.pixels; p0 += kTileN) {
        for (int i = 0; i < kTileM; ++i) {
#pragma HLS PIPELINE II = 1
          TANDEM_TRIP("conv.clear");
          for (int j = 0; j < kTileN; ++j) acc[i][j] = 0.0f;
        }
        for (int q0 = 0; q0 < g.crs; q0 += kTileK) {
          const int kd = g.crs - q0 < kTileK ? g.crs - q0 : kTileK;
        load_w:
          for (int i = 0; i < kTileM; ++i)
            for (int kk = 0; kk < kd; ++kk) {
#pragma HLS PIPELINE II = 1
              TANDEM_TRIP("conv.load_w");
              at[i][kk] = k0 + i < k ? wt[(k0 + i) * g.crs + q0 + kk] : 0.0f;
            }
          {
#pragma HLS DATAFLOW
            hls::stream<float> cols("im2col");
#pragma HLS STREAM variable = cols depth = 64
            im2col(xi, g, q0, kd, p0, cols);
            fill_b(cols, bt, kd);
          }
          mac_tile(acc, at, bt, kd);
        }
      store:
        for (int i = 0; i < kTileM && k0 + i < k; ++i)
          for (int j = 0; j < kTileN && p0 + j < g.pixels; ++j) {
#pragma HLS PIPELINE II = 1
            TANDEM_TRIP("conv.store");
            yi[(k0 + i) * g.pixels + p0 + j] = acc[i][j];
          }
      }
  }
}
