// Chunked int8 quantization with the CPU's exact arithmetic: the scale (abs-max or L2 norm) over
// the chunk, IEEE division by the unit, round-to-nearest-even by the 1.5·2²³ trick (what the FP
// adder does anyway), stochastic rounding from Philox4x32-10 keyed as on every other device —
// the shared definitions in compression/levels.h and philox.h.
// One Philox block gives the uniforms of four consecutive elements.
#include "chunk_math.h"
#include "cores.h"
#include "tandem/numeric/levels.h"
#include "tandem/numeric/philox.h"

extern "C" void tandem_quantize(const float* x, float* unit, int8_t* q, int n, int chunk, int levels, int norm2,
                                int stochastic, uint64_t seed, uint32_t step, uint32_t rank, uint64_t offset) {
#pragma HLS INTERFACE m_axi port = x offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = unit offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = q offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = chunk
#pragma HLS INTERFACE s_axilite port = levels
#pragma HLS INTERFACE s_axilite port = norm2
#pragma HLS INTERFACE s_axilite port = stochastic
#pragma HLS INTERFACE s_axilite port = seed
#pragma HLS INTERFACE s_axilite port = step
#pragma HLS INTERFACE s_axilite port = rank
#pragma HLS INTERFACE s_axilite port = offset
#pragma HLS INTERFACE s_axilite port = return
  const tandem::numeric::RandomKey key{seed, step, rank, offset};
  const float top = static_cast<float>(levels);
chunks:
  for (int first = 0, ci = 0; first < n; first += chunk, ++ci) {
    const int count = n - first < chunk ? n - first : chunk;
    const float* xc = x + first;
    const float u =
        (norm2 ? tandem_hls::chunk_norm2(xc, count) : tandem_hls::chunk_absmax(xc, count)) / top;  // IEEE division
    unit[ci] = u;
    const bool zero = !(u > 0.0f) || !std::isfinite(u);
    tandem::numeric::PhiloxCounter words{};
  levels:
    for (int i = 0; i < count; ++i) {
#pragma HLS PIPELINE II = 1
      TANDEM_TRIP("quantize.levels");
      const uint64_t p = offset + static_cast<uint64_t>(first + i);
      if (stochastic && (i == 0 || (p & 3) == 0)) words = tandem::numeric::random_block(key, p >> 2);
      const float v = xc[i] / u;
      int8_t level;
      if (zero) {
        level = 0;
      } else if (!stochastic) {
        level = tandem::numeric::level_nearest(v, top);
      } else {
        level = tandem::numeric::level_stochastic(v, tandem::numeric::uniform_from(words[p & 3]), top);
      }
      q[first + i] = level;
    }
  }
}
