// The smooth activations, forward and backward, one work-item per element: the CPU's float
// expressions (runtime/cpu/ops/activation.cpp) in the same order. kind: Activation's code
// (0 gelu, 1 gelu_tanh, 2 tanh, 3 sigmoid).

#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f
#define K_TANH 0.79788456080286536f  // √(2/π)

// tanh, exactly ±1 past 13·ln 2 (where it rounds to ±1 in float, as the CPU's gives): OpenCL's
// may stop an ulp short (PoCL's does, within the 5 ulp allowed), which 1 + tanh and 1 − tanh²
// turn into gelu_tanh(−30) ≈ −1e-6 instead of −0 and a nonzero tanh′ far out in the tails.
float tanh_sat(const float x) { return fabs(x) >= 9.011f ? copysign(1.0f, x) : tanh(x); }

float activation(const int kind, const float x) {
  switch (kind) {
    case 0: return 0.5f * x * (1.0f + erf(x * INV_SQRT2));
    case 1: return 0.5f * x * (1.0f + tanh_sat(K_TANH * (x + 0.044715f * x * x * x)));
    case 2: return tanh_sat(x);
    default: return 1.0f / (1.0f + exp(-x));
  }
}

float activation_derivative(const int kind, const float x) {
  switch (kind) {
    case 0:  // Φ(x) + x·φ(x)
      return 0.5f * (1.0f + erf(x * INV_SQRT2)) + x * INV_SQRT_2PI * exp(-0.5f * x * x);
    case 1: {
      const float u = K_TANH * (x + 0.044715f * x * x * x), t = tanh_sat(u);
      return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * K_TANH * (1.0f + 3.0f * 0.044715f * x * x);
    }
    case 2: {
      const float t = tanh_sat(x);
      return 1.0f - t * t;
    }
    default: {
      const float s = 1.0f / (1.0f + exp(-x));
      return s * (1.0f - s);
    }
  }
}

// y may be x: each work-item reads its element before writing it.
kernel void activation_forward_f32(IN(float, x), OUT(float, y), const int kind, const ulong n) {
  const size_t i = get_global_id(0);
  if (i < n) VIEW(y)[i] = activation(kind, VIEW(x)[i]);
}

// dx may be dy, likewise.
kernel void activation_backward_f32(IN(float, x), IN(float, dy), OUT(float, dx), const int kind, const ulong n) {
  const size_t i = get_global_id(0);
  if (i < n) VIEW(dx)[i] = VIEW(dy)[i] * activation_derivative(kind, VIEW(x)[i]);
}
