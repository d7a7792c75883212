// Convolution gradients as implicit GEMMs on the MAC engine (implicit_gemm.h).
//   data:    dx[c][pixel] = Σ_(k,r,s) w[k][c][r][s] · dy[k][(h + pad − r) / stride, …] per image —
//            the transposed convolution; dy terms whose position is not on the stride grid or
//            outside the output are zero.
//   weights: dw[k][(c,r,s)] = Σ_(image, p, q) dy[image][k][p][q] · x[image][c][p·st + r − pad, …].
#include "cores.h"
#include "implicit_gemm.h"

using namespace tandem_hls;

namespace {

struct Geometry {
  int n, c, h, w, k, r, s, sh, sw, ph, pw, p_out, q_out;
  int crs() const { return c * r * s; }
};

Geometry geometry(int n, int c, int h, int w, int k, int r, int s, int sh, int sw, int ph, int pw) {
  return {n, c, h, w, k, r, s, sh, sw, ph, pw, (h + 2 * ph - r) / sh + 1, (w + 2 * pw - s) / sw + 1};
}

}  // namespace

extern "C" void tandem_conv2d_backward_data(const float* dy, const float* wt, float* dx, int n, int c, int h, int w,
                                            int k, int r, int s, int stride_h, int stride_w, int pad_h, int pad_w) {
#pragma HLS INTERFACE m_axi port = dy offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = wt offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = dx offset = slave bundle = gmem2
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
  const Geometry g = geometry(n, c, h, w, k, r, s, stride_h, stride_w, pad_h, pad_w);
  const int krs = k * r * s, pixels = h * w, out_pixels = g.p_out * g.q_out;
images:
  for (int img = 0; img < n; ++img) {
    const float* dyi = dy + img * k * out_pixels;
    float* dxi = dx + img * c * pixels;
    implicit_gemm(
        c, pixels, krs,
        [&](int ci, int q) {  // w[k][ci][r][s] for q = (k, r, s)
          return wt[((q / (r * s)) * c + ci) * r * s + q % (r * s)];
        },
        [&](int q, int pix) {  // dy at the output position whose window puts (r, s) on pix
          const int ki = q / (r * s), rs = q % (r * s);
          const int ty = pix / w + pad_h - rs / s, tx = pix % w + pad_w - rs % s;
          if (ty < 0 || tx < 0 || ty % stride_h != 0 || tx % stride_w != 0) return 0.0f;
          const int py = ty / stride_h, px = tx / stride_w;
          return py < g.p_out && px < g.q_out ? dyi[ki * out_pixels + py * g.q_out + px] : 0.0f;
        },
        [&](int ci, int pix, float v) { dxi[ci * pixels + pix] = v; },
        {nullptr, "conv_bd.load_w", "conv_bd.gather", "conv_bd.store"});
  }
}

extern "C" void tandem_conv2d_backward_weights(const float* x, const float* dy, float* dw, int n, int c, int h, int w,
                                               int k, int r, int s, int stride_h, int stride_w, int pad_h, int pad_w) {
#pragma HLS INTERFACE m_axi port = x offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = dy offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = dw offset = slave bundle = gmem2
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
  const Geometry g = geometry(n, c, h, w, k, r, s, stride_h, stride_w, pad_h, pad_w);
  const int out_pixels = g.p_out * g.q_out;
  implicit_gemm(
      k, g.crs(), n * out_pixels,
      [&](int ki, int q) {  // dy[image][ki][pixel] for q = (image, pixel)
        return dy[((q / out_pixels) * k + ki) * out_pixels + q % out_pixels];
      },
      [&](int q, int col) {  // im2col(x) at (image, pixel) × (ci, r, s)
        const int img = q / out_pixels, pix = q % out_pixels, ci = col / (r * s), rs = col % (r * s);
        const int y = (pix / g.q_out) * stride_h + rs / s - pad_h, xx = (pix % g.q_out) * stride_w + rs % s - pad_w;
        return y >= 0 && y < h && xx >= 0 && xx < w ? x[((img * c + ci) * h + y) * w + xx] : 0.0f;
      },
      [&](int ki, int col, float v) { dw[ki * g.crs() + col] = v; },
      {nullptr, "conv_bw.load_dy", "conv_bw.im2col", "conv_bw.store"});
}
