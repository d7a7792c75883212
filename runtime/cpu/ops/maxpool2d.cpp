// maxpool2d forward (recording the argmax of each window) and backward (routing by it), and
// bias + ReLU + maxpool2d fused.
#include <algorithm>
#include <limits>
#include <string>

#include "../kernels.h"

namespace tandem::cpu {

namespace {

// The max of each window of value(x) (x itself, or max(x + bias, 0) fused), in the order the
// windows' elements are scanned (row by row, first maximum kept): what every backend and the
// FPGA core do, so results are bit-identical.
template <class Value>
void pool_forward(const OpCall& call, Value value) {
  const Tensor &x = *call.in[0], &y = *call.out[0], &idx = *call.out[1];
  const auto& p = call.param<Pool2dParams>();
  const int64_t planes = x.shape()[0] * x.shape()[1], channels = x.shape()[1];
  const int64_t h = x.shape()[2], w = x.shape()[3], ph = y.shape()[2], pw = y.shape()[3];
  const float* xs = static_cast<const float*>(x.data());
  float* ys = static_cast<float*>(y.data());
  int32_t* is = static_cast<int32_t*>(idx.data());
  parallel_for(planes, x.numel(), [&](int64_t plane) {
    const float* in = xs + plane * h * w;
    const int64_t c = plane % channels;
    if (p.kernel == 2 && p.stride == 2) {  // the common case, unrolled; same order and ties
      for (int64_t i = 0; i < ph; ++i)
        for (int64_t j = 0; j < pw; ++j) {
          const int64_t at[4] = {2 * i * w + 2 * j, 2 * i * w + 2 * j + 1, (2 * i + 1) * w + 2 * j,
                                 (2 * i + 1) * w + 2 * j + 1};
          float best = -std::numeric_limits<float>::infinity();
          int64_t arg = at[0];
          for (int64_t a : at)
            if (const float v = value(in[a], c); v > best) best = v, arg = a;
          const int64_t o = (plane * ph + i) * pw + j;
          ys[o] = value(in[arg], c);
          is[o] = static_cast<int32_t>(arg);
        }
      return;
    }
    for (int64_t i = 0; i < ph; ++i)
      for (int64_t j = 0; j < pw; ++j) {
        float best = -std::numeric_limits<float>::infinity();
        int64_t arg = (i * p.stride) * w + j * p.stride;
        for (int64_t di = 0; di < p.kernel; ++di)
          for (int64_t dj = 0; dj < p.kernel; ++dj) {
            const int64_t at = (i * p.stride + di) * w + j * p.stride + dj;
            if (const float v = value(in[at], c); v > best) best = v, arg = at;
          }
        const int64_t o = (plane * ph + i) * pw + j;
        ys[o] = value(in[arg], c);  // a NaN-only window keeps its first element (NaN), not -inf
        is[o] = static_cast<int32_t>(arg);
      }
  });
}

}  // namespace

void maxpool2d_forward(const OpCall& call) {
  pool_forward(call, [](float x, int64_t) { return x; });
}
TANDEM_KERNEL(cpu_kernels, maxpool2d_forward, maxpool2d_forward);

void bias_relu_maxpool2d(const OpCall& call) {
  const float* bias = static_cast<const float*>(call.in[1]->data());
  pool_forward(call, [bias](float x, int64_t c) {
    const float v = x + bias[c];
    return v > 0.0f ? v : 0.0f;
  });
}
TANDEM_KERNEL(cpu_kernels, bias_relu_maxpool2d, bias_relu_maxpool2d);

void maxpool2d_backward(const OpCall& call) {
  const Tensor &dy = *call.in[0], &idx = *call.in[1], &dx = *call.out[0];
  const int64_t planes = dy.shape()[0] * dy.shape()[1];
  const int64_t per_out = dy.shape()[2] * dy.shape()[3], per_in = dx.shape()[2] * dx.shape()[3];
  const float* dys = static_cast<const float*>(dy.data());
  const int32_t* is = static_cast<const int32_t*>(idx.data());
  float* dxs = static_cast<float*>(dx.data());
  // Indices come from outside the op: check them all before writing anything.
  check_indices(call, pool_index_range(call), is, idx.numel());
  parallel_for(planes, dx.numel(), [&](int64_t plane) {
    float* out = dxs + plane * per_in;
    std::fill(out, out + per_in, 0.0f);
    for (int64_t o = 0; o < per_out; ++o) out[is[plane * per_out + o]] += dys[plane * per_out + o];
  });
}
TANDEM_KERNEL(cpu_kernels, maxpool2d_backward, maxpool2d_backward);

}  // namespace tandem::cpu
