// The smooth activations (GELU in its erf and tanh forms, tanh, sigmoid), forward and backward: a
// thread per element in a grid-stride loop, with the CPU's expressions in the CPU's order
// (erff, tanhf and expf are CUDA's, within an ulp or two of glibc's). x may be y, dy may be dx:
// each element is read before it is written.
#include "common.cuh"
#include "op.h"

namespace tandem::cuda {
namespace {

constexpr float inv_sqrt2 = 0.70710678118654752f, inv_sqrt_2pi = 0.39894228040143268f;
constexpr float k_tanh = 0.79788456080286536f;  // √(2/π)

__device__ inline float forward(Activation a, float x) {
  switch (a) {
    case Activation::gelu: return 0.5f * x * (1.0f + erff(x * inv_sqrt2));
    case Activation::gelu_tanh: return 0.5f * x * (1.0f + tanhf(k_tanh * (x + 0.044715f * x * x * x)));
    case Activation::tanh: return tanhf(x);
    case Activation::sigmoid: return 1.0f / (1.0f + expf(-x));
  }
  return x;
}

__device__ inline float derivative(Activation a, float x) {
  switch (a) {
    case Activation::gelu:  // Φ(x) + x·φ(x)
      return 0.5f * (1.0f + erff(x * inv_sqrt2)) + x * inv_sqrt_2pi * expf(-0.5f * x * x);
    case Activation::gelu_tanh: {
      const float u = k_tanh * (x + 0.044715f * x * x * x), t = tanhf(u);
      return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * k_tanh * (1.0f + 3.0f * 0.044715f * x * x);
    }
    case Activation::tanh: {
      const float t = tanhf(x);
      return 1.0f - t * t;
    }
    case Activation::sigmoid: {
      const float s = 1.0f / (1.0f + expf(-x));
      return s * (1.0f - s);
    }
  }
  return 1.0f;
}

// The switch on `a` is uniform across the grid: no divergence.
__global__ void activation_forward_kernel(Activation a, const float* x, float* y, int64_t n) {
  TANDEM_GRID_LOOP(i, n) y[i] = forward(a, x[i]);
}

__global__ void activation_backward_kernel(Activation a, const float* x, const float* dy, float* dx, int64_t n) {
  TANDEM_GRID_LOOP(i, n) dx[i] = dy[i] * derivative(a, x[i]);
}

}  // namespace

void activation_forward(const OpCall& c) {
  const Op op(c);
  const int64_t n = c.in[0]->numel();
  if (n == 0) return;
  activation_forward_kernel<<<op.grid(n), block_threads, 0, op.s()>>>(
      c.param<ActivationParams>().kind, static_cast<const float*>(c.in[0]->data()),
      static_cast<float*>(c.out[0]->data()), n);
  op.launched("activation_forward");
}
TANDEM_KERNEL(cuda_kernels, activation_forward, activation_forward);

void activation_backward(const OpCall& c) {
  const Op op(c);
  const int64_t n = c.in[0]->numel();
  if (n == 0) return;
  activation_backward_kernel<<<op.grid(n), block_threads, 0, op.s()>>>(
      c.param<ActivationParams>().kind, static_cast<const float*>(c.in[0]->data()),
      static_cast<const float*>(c.in[1]->data()), static_cast<float*>(c.out[0]->data()), n);
  op.launched("activation_backward");
}
TANDEM_KERNEL(cuda_kernels, activation_backward, activation_backward);

}  // namespace tandem::cuda
