// One max-pool window, shared by the max-pool core and the fused bias+ReLU+pool core: the
// maximum of f(x) over a pool×pool window, row by row, the first maximum kept from a −inf start
// (the CPU's order and ties), and its position in the plane. Unrolled in the callers' pipelines.
#pragma once

namespace tandem_hls {

template <class F>
inline float window_max(const float* in, int w, int i, int j, int pool, int stride, F f, int& arg) {
  float best = -__builtin_inff();
  arg = (i * stride) * w + j * stride;
window:
  for (int t = 0; t < pool * pool; ++t) {
    const int at = (i * stride + t / pool) * w + j * stride + t % pool;
    const float v = f(in[at]);
    if (v > best) best = v, arg = at;
  }
  return best;
}

}  // namespace tandem_hls
