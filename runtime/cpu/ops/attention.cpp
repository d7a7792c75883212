// Fused attention, blocked by batch entry: each task takes one entry (a head of a sample) and
// computes its scores q·kᵀ into a [Tq, Tk] buffer of its own thread (single-threaded sgemm:
// OpenBLAS runs serially inside an OpenMP region), the softmax in place, and the product with
// v — the scores and probabilities never exist for the whole batch, and the entries run in
// parallel instead of threading many small sgemm calls. The backward pass recomputes an entry's
// probabilities the same way instead of keeping them.
#include <cblas.h>

#include <cmath>
#include <vector>

#include "../kernels.h"

namespace tandem::cpu {
namespace {

struct Dims {
  int b, tq, tk, d;
  explicit Dims(const OpCall& c)
      : b(static_cast<int>(c.in[0]->shape()[0])),
        tq(static_cast<int>(c.in[0]->shape()[1])),
        tk(static_cast<int>(c.in[1]->shape()[1])),
        d(static_cast<int>(c.in[0]->shape()[2])) {}
  int64_t work() const { return int64_t{b} * tq * tk * d; }
};

const float* f32(const Tensor& t) { return static_cast<const float*>(t.data()); }
float* f32_out(const Tensor& t) { return static_cast<float*>(t.data()); }

// p = softmax(scale·q·kᵀ) row by row (max-shifted, each row's sum in index order), p [tq, tk].
void probabilities(const float* q, const float* k, const Dims& n, float scale, float* p) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n.tq, n.tk, n.d, scale, q, n.d, k, n.d, 0.0f, p, n.tk);
  for (int i = 0; i < n.tq; ++i) {
    float* row = p + int64_t{i} * n.tk;
    float mx = -INFINITY, sum = 0.0f;
    for (int j = 0; j < n.tk; ++j) mx = std::max(mx, row[j]);
    for (int j = 0; j < n.tk; ++j) sum += row[j] = std::exp(row[j] - mx);
    const float inv = 1.0f / sum;
    for (int j = 0; j < n.tk; ++j) row[j] *= inv;
  }
}

std::vector<float>& scratch(size_t n) {
  thread_local std::vector<float> v;
  if (v.size() < n) v.resize(n);
  return v;
}

}  // namespace

void attention_forward(const OpCall& call) {
  const Dims n(call);
  const float scale = call.param<AttentionParams>().scale;
  const float *Q = f32(*call.in[0]), *K = f32(*call.in[1]), *V = f32(*call.in[2]);
  float* O = f32_out(*call.out[0]);
  if (n.tk == 0) {  // no keys: an empty sum
    std::fill(O, O + int64_t{n.b} * n.tq * n.d, 0.0f);
    return;
  }
  parallel_for(n.b, n.work(), [&](int64_t b) {
    float* p = scratch(static_cast<size_t>(n.tq) * n.tk).data();
    const int64_t qo = b * n.tq * n.d, kv = b * n.tk * n.d;
    probabilities(Q + qo, K + kv, n, scale, p);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n.tq, n.d, n.tk, 1.0f, p, n.tk, V + kv, n.d, 0.0f, O + qo, n.d);
  });
}
TANDEM_KERNEL(cpu_kernels, attention_forward, attention_forward);

// Per entry, with p its probabilities: dv = pᵀ·do, dp = do·vᵀ, ds = scale·p ⊙ (dp − rowsum(p ⊙ dp)),
// dq = ds·k, dk = dsᵀ·q. (rowsum(p ⊙ dp) = do·o, but from p and dp it needs no o.)
void attention_backward(const OpCall& call) {
  const Dims n(call);
  const float scale = call.param<AttentionParams>().scale;
  const float *Q = f32(*call.in[0]), *K = f32(*call.in[1]), *V = f32(*call.in[2]), *dO = f32(*call.in[4]);
  float *dQ = f32_out(*call.out[0]), *dK = f32_out(*call.out[1]), *dV = f32_out(*call.out[2]);
  if (n.tk == 0) {
    std::fill(dQ, dQ + int64_t{n.b} * n.tq * n.d, 0.0f);
    return;
  }
  parallel_for(n.b, 3 * n.work(), [&](int64_t b) {
    const size_t square = static_cast<size_t>(n.tq) * n.tk;
    float* p = scratch(2 * square).data();
    float* dp = p + square;
    const int64_t qo = b * n.tq * n.d, kv = b * n.tk * n.d;
    probabilities(Q + qo, K + kv, n, scale, p);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n.tk, n.d, n.tq, 1.0f, p, n.tk, dO + qo, n.d, 0.0f, dV + kv, n.d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n.tq, n.tk, n.d, 1.0f, dO + qo, n.d, V + kv, n.d, 0.0f, dp, n.tk);
    for (int i = 0; i < n.tq; ++i) {
      const float* pr = p + int64_t{i} * n.tk;
      float* dr = dp + int64_t{i} * n.tk;
      float dot = 0.0f;
      for (int j = 0; j < n.tk; ++j) dot += pr[j] * dr[j];
      for (int j = 0; j < n.tk; ++j) dr[j] = scale * pr[j] * (dr[j] - dot);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n.tq, n.d, n.tk, 1.0f, dp, n.tk, K + kv, n.d, 0.0f, dQ + qo, n.d);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n.tk, n.d, n.tq, 1.0f, dp, n.tk, Q + qo, n.d, 0.0f, dK + kv, n.d);
  });
}
TANDEM_KERNEL(cpu_kernels, attention_backward, attention_backward);

}  // namespace tandem::cpu
