// Layer normalization over the last dimension: rows in parallel, statistics in two passes (the
// mean, then the squared deviations from it) summed in double. The parameter gradients are summed
// over fixed blocks of rows, then the blocks in order: the same bits whatever the thread count.
#include <cmath>
#include <vector>

#include "../kernels.h"

namespace tandem::cpu {
namespace {

constexpr int64_t rows_per_block = 64;

struct Rows {
  int64_t rows, d;
};
Rows rows_of(const Tensor& x) {
  const int64_t d = x.shape()[x.shape().rank() - 1];
  return {d == 0 ? 0 : x.numel() / d, d};
}

}  // namespace

void layernorm_forward(const OpCall& call) {
  const Tensor &x = *call.in[0], &gamma = *call.in[1], &beta = *call.in[2];
  const float eps = call.param<LayerNormParams>().eps;
  const Rows r = rows_of(x);
  const auto *X = static_cast<const float*>(x.data()), *G = static_cast<const float*>(gamma.data()),
             *B = static_cast<const float*>(beta.data());
  auto *Y = static_cast<float*>(call.out[0]->data()), *M = static_cast<float*>(call.out[1]->data()),
       *R = static_cast<float*>(call.out[2]->data());
  parallel_for(r.rows, x.numel(), [&](int64_t i) {
    const float* in = X + i * r.d;
    float* out = Y + i * r.d;
    double s = 0;
    for (int64_t j = 0; j < r.d; ++j) s += in[j];
    const double mean = s / static_cast<double>(r.d);
    double q = 0;
    for (int64_t j = 0; j < r.d; ++j) q += (in[j] - mean) * (in[j] - mean);
    const float m = static_cast<float>(mean);
    const float rstd = static_cast<float>(1.0 / std::sqrt(q / static_cast<double>(r.d) + eps));
    for (int64_t j = 0; j < r.d; ++j) out[j] = (in[j] - m) * rstd * G[j] + B[j];  // out may be in
    M[i] = m, R[i] = rstd;
  });
}
TANDEM_KERNEL(cpu_kernels, layernorm_forward, layernorm_forward);

// dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·gamma, per row.
void layernorm_backward(const OpCall& call) {
  const Tensor &x = *call.in[0], &dy = *call.in[1], &gamma = *call.in[2];
  const Rows r = rows_of(x);
  const auto *X = static_cast<const float*>(x.data()), *DY = static_cast<const float*>(dy.data()),
             *G = static_cast<const float*>(gamma.data()), *M = static_cast<const float*>(call.in[3]->data()),
             *R = static_cast<const float*>(call.in[4]->data());
  auto *DX = static_cast<float*>(call.out[0]->data()), *DG = static_cast<float*>(call.out[1]->data()),
       *DB = static_cast<float*>(call.out[2]->data());
  const int64_t blocks = (r.rows + rows_per_block - 1) / rows_per_block;
  std::vector<double> part(static_cast<size_t>(2 * blocks * r.d), 0.0);  // per block: dgamma then dbeta
  parallel_for(blocks, x.numel(), [&](int64_t b) {
    double* pg = part.data() + 2 * b * r.d;
    double* pb = pg + r.d;
    for (int64_t i = b * rows_per_block; i < std::min(r.rows, (b + 1) * rows_per_block); ++i) {
      const float *in = X + i * r.d, *d = DY + i * r.d;
      float* out = DX + i * r.d;
      const float m = M[i], rstd = R[i];
      double sg = 0, sgx = 0;
      for (int64_t j = 0; j < r.d; ++j) {
        const double xh = (in[j] - m) * rstd, g = static_cast<double>(d[j]) * G[j];
        sg += g, sgx += g * xh;
        pg[j] += d[j] * xh, pb[j] += d[j];
      }
      const double mg = sg / static_cast<double>(r.d), mgx = sgx / static_cast<double>(r.d);
      for (int64_t j = 0; j < r.d; ++j) {  // out may be d: each element read before it is written
        const double xh = (in[j] - m) * rstd;
        out[j] = static_cast<float>(rstd * (static_cast<double>(d[j]) * G[j] - mg - xh * mgx));
      }
    }
  });
  for (int64_t j = 0; j < r.d; ++j) {
    double sg = 0, sb = 0;
    for (int64_t b = 0; b < blocks; ++b)
      sg += part[static_cast<size_t>(2 * b * r.d + j)], sb += part[static_cast<size_t>((2 * b + 1) * r.d + j)];
    DG[j] = static_cast<float>(sg), DB[j] = static_cast<float>(sb);
  }
}
TANDEM_KERNEL(cpu_kernels, layernorm_backward, layernorm_backward);

}  // namespace tandem::cpu
