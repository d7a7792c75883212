// GELU (erf and tanh forms), tanh and sigmoid, forward and backward, element by element.
#include <cmath>

#include "../kernels.h"

namespace tandem::cpu {
namespace {

constexpr float inv_sqrt2 = 0.70710678118654752f, inv_sqrt_2pi = 0.39894228040143268f;
constexpr float k_tanh = 0.79788456080286536f;  // √(2/π)

float forward(Activation a, float x) {
  switch (a) {
    case Activation::gelu:
      return 0.5f * x * (1.0f + std::erf(x * inv_sqrt2));
    case Activation::gelu_tanh:
      return 0.5f * x * (1.0f + std::tanh(k_tanh * (x + 0.044715f * x * x * x)));
    case Activation::tanh:
      return std::tanh(x);
    case Activation::sigmoid:
      return 1.0f / (1.0f + std::exp(-x));
  }
  return x;
}

float derivative(Activation a, float x) {
  switch (a) {
    case Activation::gelu:  // Φ(x) + x·φ(x)
      return 0.5f * (1.0f + std::erf(x * inv_sqrt2)) + x * inv_sqrt_2pi * std::exp(-0.5f * x * x);
    case Activation::gelu_tanh: {
      const float u = k_tanh * (x + 0.044715f * x * x * x), t = std::tanh(u);
      return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * k_tanh * (1.0f + 3.0f * 0.044715f * x * x);
    }
    case Activation::tanh: {
      const float t = std::tanh(x);
      return 1.0f - t * t;
    }
    case Activation::sigmoid: {
      const float s = 1.0f / (1.0f + std::exp(-x));
      return s * (1.0f - s);
    }
  }
  return 1.0f;
}

}  // namespace

void activation_forward(const OpCall& call) {
  const Activation a = call.param<ActivationParams>().kind;
  const auto* x = static_cast<const float*>(call.in[0]->data());
  auto* y = static_cast<float*>(call.out[0]->data());
  for_blocks(call.in[0]->numel(), [&](int64_t first, int64_t count) {
    for (int64_t i = first; i < first + count; ++i) y[i] = forward(a, x[i]);
  });
}
TANDEM_KERNEL(cpu_kernels, activation_forward, activation_forward);

void activation_backward(const OpCall& call) {
  const Activation a = call.param<ActivationParams>().kind;
  const auto* x = static_cast<const float*>(call.in[0]->data());
  const auto* dy = static_cast<const float*>(call.in[1]->data());
  auto* dx = static_cast<float*>(call.out[0]->data());
  for_blocks(call.in[0]->numel(), [&](int64_t first, int64_t count) {
    for (int64_t i = first; i < first + count; ++i) dx[i] = dy[i] * derivative(a, x[i]);
  });
}
TANDEM_KERNEL(cpu_kernels, activation_backward, activation_backward);

}  // namespace tandem::cpu
