// 1-bit sign compression: the chunk's mean magnitude (the CPU's f64 summation order), and one
// bit per element packed eight to a byte, bit j of byte b for element 8b + j.
#include "chunk_math.h"
#include "cores.h"

extern "C" void tandem_sign_pack(const float* x, float* unit, uint8_t* bits, int n, int chunk) {
#pragma HLS INTERFACE m_axi port = x offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = unit offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = bits offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = chunk
#pragma HLS INTERFACE s_axilite port = return
scales:
  for (int first = 0, ci = 0; first < n; first += chunk, ++ci)
    unit[ci] = tandem_hls::chunk_absmean(x + first, n - first < chunk ? n - first : chunk);
bytes:
  for (int b = 0; b * 8 < n; ++b) {
#pragma HLS PIPELINE II = 1
    TANDEM_TRIP("sign.bytes");
    unsigned byte = 0;
    for (int j = 0; j < 8; ++j) {
#pragma HLS UNROLL
      if (8 * b + j < n) byte |= (x[8 * b + j] >= 0.0f ? 1u : 0u) << j;
    }
    bits[b] = static_cast<uint8_t>(byte);
  }
}
