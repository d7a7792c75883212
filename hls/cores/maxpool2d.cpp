// Max-pool forward (window order and ties as the CPU: row by row, first maximum, −inf start) and
// backward (gradients routed to the recorded positions, summed where windows overlap).
#include "cores.h"
#include "pool_window.h"
#include "tandem_hls/trips.h"

extern "C" void tandem_maxpool2d_forward(const float* x, float* y, int32_t* idx, int planes, int h, int w, int pool, int stride) {
#pragma HLS INTERFACE m_axi port = x offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = y offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = idx offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = planes
#pragma HLS INTERFACE s_axilite port = h
#pragma HLS INTERFACE s_axilite port = w
#pragma HLS INTERFACE s_axilite port = pool
#pragma HLS INTERFACE s_axilite port = stride
#pragma HLS INTERFACE s_axilite port = return
  const int ph = (h - pool) / stride + 1, pw = (w - pool) / stride + 1;
planes_loop:
  for (int plane = 0; plane < planes; ++plane) {
    const float* in = x + plane * h * w;
  outputs:  // one output per pool² cycles: the window's reads share one port
    for (int o = 0; o < ph * pw; ++o) {
#pragma HLS PIPELINE II = pool * pool
      TANDEM_TRIP("maxpool.outputs");
      int arg;
      tandem_hls::window_max(
          in, w, o / pw, o % pw, pool, stride, [](float x) { return x; }, arg);
      y[plane * ph * pw + o] = in[arg];
      idx[plane * ph * pw + o] = arg;
    }
  }
}

extern "C" void tandem_maxpool2d_backward(const float* dy, const int32_t* idx, float* dx, int planes, int outputs,
                                        int inputs) {
#pragma HLS INTERFACE m_axi port = dy offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = idx offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = dx offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = planes
#pragma HLS INTERFACE s_axilite port = outputs
#pragma HLS INTERFACE s_axilite port = inputs
#pragma HLS INTERFACE s_axilite port = return
planes_loop:
  for (int plane = 0; plane < planes; ++plane) {
    float* out = dx + plane * inputs;
  clear:
    for (int i = 0; i < inputs; ++i) {
#pragma HLS PIPELINE II = 1
      TANDEM_TRIP("maxpool.clear");
      out[i] = 0.0f;
    }
  route:  // read-modify-write of dx: II 2 (a read after the previous write to memory)
    for (int o = 0; o < outputs; ++o) {
#pragma HLS PIPELINE II = 2
      TANDEM_TRIP("maxpool.route");
      out[idx[plane * outputs + o]] += dy[plane * outputs + o];
    }
  }
}
