// Chunk abs-max: the scale of int8 / TernGrad quantization, one pipelined pass over x.
#include "chunk_math.h"
#include "cores.h"

extern "C" void tandem_chunk_absmax(const float* x, float* scales, int n, int chunk) {
#pragma HLS INTERFACE m_axi port = x offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = scales offset = slave bundle = gmem1
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = chunk
#pragma HLS INTERFACE s_axilite port = return
chunks:
  for (int first = 0, ci = 0; first < n; first += chunk, ++ci)
    scales[ci] = tandem_hls::chunk_absmax(x + first, n - first < chunk ? n - first : chunk);
}
