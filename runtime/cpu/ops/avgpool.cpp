// Average pooling: kernel×kernel windows (a window summed in float in row-major order, then
// divided by kernel²; the backward pass gathers, per input element, the windows covering it) and
// global (a plane's mean, summed in double), forward and backward. The device kernels compute
// the same float operations in the same order.
#include <algorithm>

#include "../kernels.h"

namespace tandem::cpu {
namespace {

// The windows i (of n) covering position h: i·stride ≤ h < i·stride + kernel, as [lo, hi).
void covering(int64_t h, int64_t kernel, int64_t stride, int64_t n, int64_t& lo, int64_t& hi) {
  lo = h < kernel ? 0 : (h - kernel) / stride + 1;
  hi = std::min(n, h / stride + 1);
}

}  // namespace

void avgpool2d_forward(const OpCall& call) {
  const Tensor &x = *call.in[0], &y = *call.out[0];
  const auto& p = call.param<Pool2dParams>();
  const int64_t planes = x.shape()[0] * x.shape()[1];
  const int64_t h = x.shape()[2], w = x.shape()[3], ph = y.shape()[2], pw = y.shape()[3];
  const float* xs = static_cast<const float*>(x.data());
  float* ys = static_cast<float*>(y.data());
  const float area = static_cast<float>(p.kernel) * static_cast<float>(p.kernel);
  parallel_for(planes, x.numel(), [&](int64_t plane) {
    const float* in = xs + plane * h * w;
    float* out = ys + plane * ph * pw;
    for (int64_t i = 0; i < ph; ++i)
      for (int64_t j = 0; j < pw; ++j) {
        float sum = 0.0f;
        for (int64_t di = 0; di < p.kernel; ++di) {
          const float* row = in + (i * p.stride + di) * w + j * p.stride;
          for (int64_t dj = 0; dj < p.kernel; ++dj) sum += row[dj];
        }
        out[i * pw + j] = sum / area;
      }
  });
}
TANDEM_KERNEL(cpu_kernels, avgpool2d_forward, avgpool2d_forward);

void avgpool2d_backward(const OpCall& call) {
  const Tensor &dy = *call.in[0], &dx = *call.out[0];
  const auto& p = call.param<Pool2dParams>();
  const int64_t planes = dx.shape()[0] * dx.shape()[1];
  const int64_t h = dx.shape()[2], w = dx.shape()[3], ph = dy.shape()[2], pw = dy.shape()[3];
  const float* dys = static_cast<const float*>(dy.data());
  float* dxs = static_cast<float*>(dx.data());
  const float area = static_cast<float>(p.kernel) * static_cast<float>(p.kernel);
  parallel_for(planes, dx.numel(), [&](int64_t plane) {
    const float* g = dys + plane * ph * pw;
    float* out = dxs + plane * h * w;
    for (int64_t r = 0; r < h; ++r) {
      int64_t i_lo, i_hi;
      covering(r, p.kernel, p.stride, ph, i_lo, i_hi);
      for (int64_t c = 0; c < w; ++c) {
        int64_t j_lo, j_hi;
        covering(c, p.kernel, p.stride, pw, j_lo, j_hi);
        float sum = 0.0f;
        for (int64_t i = i_lo; i < i_hi; ++i)
          for (int64_t j = j_lo; j < j_hi; ++j) sum += g[i * pw + j];
        out[r * w + c] = sum / area;
      }
    }
  });
}
TANDEM_KERNEL(cpu_kernels, avgpool2d_backward, avgpool2d_backward);

void global_avgpool_forward(const OpCall& call) {
  const Tensor &x = *call.in[0], &y = *call.out[0];
  const int64_t planes = x.shape()[0] * x.shape()[1], hw = x.shape()[2] * x.shape()[3];
  const float* xs = static_cast<const float*>(x.data());
  float* ys = static_cast<float*>(y.data());
  parallel_for(planes, x.numel(), [&](int64_t p) {
    const float* in = xs + p * hw;
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < hw; ++i) s += in[i];
    ys[p] = static_cast<float>(s / static_cast<double>(hw));
  });
}
TANDEM_KERNEL(cpu_kernels, global_avgpool_forward, global_avgpool_forward);

void global_avgpool_backward(const OpCall& call) {
  const Tensor &dy = *call.in[0], &dx = *call.out[0];
  const int64_t planes = dx.shape()[0] * dx.shape()[1], hw = dx.shape()[2] * dx.shape()[3];
  const float* dys = static_cast<const float*>(dy.data());
  float* dxs = static_cast<float*>(dx.data());
  const float area = static_cast<float>(hw);
  parallel_for(planes, dx.numel(), [&](int64_t p) { std::fill(dxs + p * hw, dxs + (p + 1) * hw, dys[p] / area); });
}
TANDEM_KERNEL(cpu_kernels, global_avgpool_backward, global_avgpool_backward);

}  // namespace tandem::cpu
