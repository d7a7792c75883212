// Fused attention: per query row, the scores against every key, their softmax and the weighted
// sum of values, in one pass over the row (a buffer of Tk scores per thread). Rows of one batch
// entry read the same keys and values, which stay in cache. The backward pass recomputes each
// row's probabilities instead of keeping [B,Tq,Tk] of them, and runs one batch entry per task
// (its dk and dv sum over its rows).
#include <cmath>
#include <vector>

#include "../kernels.h"

namespace tandem::cpu {
namespace {

float dot(const float* a, const float* b, int64_t d) {
  float s = 0.0f;
  for (int64_t c = 0; c < d; ++c) s += a[c] * b[c];
  return s;
}

// p[j] = softmax_j(scale·q·k_j) over the Tk keys (max-shifted, the sum in index order).
void probabilities(const float* q, const float* keys, int64_t tk, int64_t d, float scale, float* p) {
  float mx = -INFINITY;
  for (int64_t j = 0; j < tk; ++j) mx = std::max(mx, p[j] = scale * dot(q, keys + j * d, d));
  float sum = 0.0f;
  for (int64_t j = 0; j < tk; ++j) sum += p[j] = std::exp(p[j] - mx);
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < tk; ++j) p[j] *= inv;
}

struct Dims {
  int64_t b, tq, tk, d;
  explicit Dims(const OpCall& c)
      : b(c.in[0]->shape()[0]), tq(c.in[0]->shape()[1]), tk(c.in[1]->shape()[1]), d(c.in[0]->shape()[2]) {}
};

const float* f32(const Tensor& t) { return static_cast<const float*>(t.data()); }
float* f32_out(const Tensor& t) { return static_cast<float*>(t.data()); }

}  // namespace

void attention_forward(const OpCall& call) {
  const Dims n(call);
  const float scale = call.param<AttentionParams>().scale;
  const float *Q = f32(*call.in[0]), *K = f32(*call.in[1]), *V = f32(*call.in[2]);
  float* O = f32_out(*call.out[0]);
  if (n.tk == 0) {  // no keys: an empty sum
    std::fill(O, O + n.b * n.tq * n.d, 0.0f);
    return;
  }
  parallel_for(n.b * n.tq, n.b * n.tq * n.tk * n.d, [&](int64_t row) {
    thread_local std::vector<float> p;
    p.resize(static_cast<size_t>(n.tk));
    const int64_t b = row / n.tq;
    const float *keys = K + b * n.tk * n.d, *values = V + b * n.tk * n.d;
    probabilities(Q + row * n.d, keys, n.tk, n.d, scale, p.data());
    float* o = O + row * n.d;
    std::fill(o, o + n.d, 0.0f);
    for (int64_t j = 0; j < n.tk; ++j) {
      const float w = p[static_cast<size_t>(j)];
      const float* vj = values + j * n.d;
      for (int64_t c = 0; c < n.d; ++c) o[c] += w * vj[c];
    }
  });
}
TANDEM_KERNEL(cpu_kernels, attention_forward, attention_forward);

// With p the row's probabilities and D = do·o: dv_j += p_j·do, ds_j = p_j·(do·v_j − D),
// dq += scale·Σ_j ds_j·k_j, dk_j += scale·ds_j·q.
void attention_backward(const OpCall& call) {
  const Dims n(call);
  const float scale = call.param<AttentionParams>().scale;
  const float *Q = f32(*call.in[0]), *K = f32(*call.in[1]), *V = f32(*call.in[2]), *O = f32(*call.in[3]),
              *dO = f32(*call.in[4]);
  float *dQ = f32_out(*call.out[0]), *dK = f32_out(*call.out[1]), *dV = f32_out(*call.out[2]);
  parallel_for(n.b, n.b * n.tq * n.tk * n.d, [&](int64_t b) {
    thread_local std::vector<float> p;
    p.resize(static_cast<size_t>(n.tk));
    const int64_t kv = b * n.tk * n.d;
    std::fill(dK + kv, dK + kv + n.tk * n.d, 0.0f);
    std::fill(dV + kv, dV + kv + n.tk * n.d, 0.0f);
    for (int64_t i = 0; i < n.tq; ++i) {
      const int64_t row = (b * n.tq + i) * n.d;
      const float *q = Q + row, *g = dO + row;
      float* dq = dQ + row;
      std::fill(dq, dq + n.d, 0.0f);
      if (n.tk == 0) continue;
      probabilities(q, K + kv, n.tk, n.d, scale, p.data());
      const float D = dot(g, O + row, n.d);
      for (int64_t j = 0; j < n.tk; ++j) {
        const float pj = p[static_cast<size_t>(j)];
        const float *kj = K + kv + j * n.d, *vj = V + kv + j * n.d;
        float *dkj = dK + kv + j * n.d, *dvj = dV + kv + j * n.d;
        const float ds = scale * pj * (dot(g, vj, n.d) - D);
        for (int64_t c = 0; c < n.d; ++c) {
          dvj[c] += pj * g[c];
          dq[c] += ds * kj[c];
          dkj[c] += ds * q[c];
        }
      }
    }
  });
}
TANDEM_KERNEL(cpu_kernels, attention_backward, attention_backward);

}  // namespace tandem::cpu
