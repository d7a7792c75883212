// bias_add, bias_backward, relu forward and backward, and the fused bias + ReLU and add + ReLU.
#include "../kernels.h"

namespace tandem::cpu {

void bias_add(const OpCall& call) {
  const Tensor &b = *call.in[0], &y = *call.out[0];
  const Planes pl = planes(y.shape());
  const float* bs = static_cast<const float*>(b.data());
  float* ys = static_cast<float*>(y.data());
  const int64_t rows = pl.n * pl.c;
  parallel_for(rows, y.numel(), [&](int64_t row) {
    const float v = bs[row % pl.c];
    float* out = ys + row * pl.inner;
#pragma omp simd
    for (int64_t i = 0; i < pl.inner; ++i) out[i] += v;
  });
}
TANDEM_KERNEL(cpu_kernels, bias_add, bias_add);

void bias_relu(const OpCall& call) {
  const Tensor &b = *call.in[0], &y = *call.out[0];
  const Planes pl = planes(y.shape());
  const float* bs = static_cast<const float*>(b.data());
  float* ys = static_cast<float*>(y.data());
  parallel_for(pl.n * pl.c, y.numel(), [&](int64_t row) {
    const float v = bs[row % pl.c];
    float* out = ys + row * pl.inner;
#pragma omp simd
    for (int64_t i = 0; i < pl.inner; ++i) {
      const float z = out[i] + v;
      out[i] = z > 0.0f ? z : 0.0f;  // NaN gives 0, as relu_forward
    }
  });
}
TANDEM_KERNEL(cpu_kernels, bias_relu, bias_relu);

void bias_backward(const OpCall& call) {
  const Tensor &dy = *call.in[0], &db = *call.out[0];
  const Planes pl = planes(dy.shape());
  const float* ds = static_cast<const float*>(dy.data());
  float* out = static_cast<float*>(db.data());
  // Summed in double: a channel can collect hundreds of thousands of terms.
  parallel_for(pl.c, dy.numel(), [&](int64_t c) {
    double sum = 0;
    for (int64_t n = 0; n < pl.n; ++n) {
      const float* in = ds + (n * pl.c + c) * pl.inner;
      float part = 0;
#pragma omp simd reduction(+ : part)
      for (int64_t i = 0; i < pl.inner; ++i) part += in[i];
      sum += part;
    }
    out[c] = static_cast<float>(sum);
  });
}
TANDEM_KERNEL(cpu_kernels, bias_backward, bias_backward);

void relu_forward(const OpCall& call) {
  const float* x = static_cast<const float*>(call.in[0]->data());
  float* y = static_cast<float*>(call.out[0]->data());
  const int64_t n = call.in[0]->numel();
  for_blocks(n, [&](int64_t first, int64_t count) {
#pragma omp simd
    for (int64_t i = first; i < first + count; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
  });
}
TANDEM_KERNEL(cpu_kernels, relu_forward, relu_forward);

void add_relu(const OpCall& call) {
  const float* a = static_cast<const float*>(call.in[0]->data());
  const float* b = static_cast<const float*>(call.in[1]->data());
  float* c = static_cast<float*>(call.out[0]->data());
  for_blocks(call.out[0]->numel(), [&](int64_t first, int64_t count) {
    for (int64_t i = first; i < first + count; ++i) {  // c may be a or b: no simd pragma
      const float z = a[i] + b[i];
      c[i] = z > 0.0f ? z : 0.0f;
    }
  });
}
TANDEM_KERNEL(cpu_kernels, add_relu, add_relu);

void relu_backward(const OpCall& call) {
  const float* x = static_cast<const float*>(call.in[0]->data());
  const float* dy = static_cast<const float*>(call.in[1]->data());
  float* dx = static_cast<float*>(call.out[0]->data());
  const int64_t n = call.in[0]->numel();
  for_blocks(n, [&](int64_t first, int64_t count) {
#pragma omp simd
    for (int64_t i = first; i < first + count; ++i) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
  });
}
TANDEM_KERNEL(cpu_kernels, relu_backward, relu_backward);

}  // namespace tandem::cpu
