// Layer normalization over the last dimension D of x [rows, D], in the CPU's arithmetic: the
// statistics in double (the mean, then the squared deviations from it), the normalization in
// f32. A warp per row for the row sums (lanes stride the row, then an xor-butterfly warp
// reduction: deterministic, within rounding of the CPU's index order). The parameter gradients
// as on the CPU, bit for bit: per column, double partial sums over fixed blocks of 64 rows (a
// thread per column and block), then the blocks added in order (a thread per column) — no atomics.
#include <cmath>

#include "common.cuh"
#include "op.h"

namespace tandem::cuda {
namespace {

constexpr int64_t rows_per_partial = 64;  // the CPU's rows_per_block: the same partial sums

struct Rows {
  int64_t rows, d;
};
Rows rows_of(const Tensor& x) {
  const int64_t d = x.shape()[x.shape().rank() - 1];
  return {d == 0 ? 0 : x.numel() / d, d};
}

// y = (x − mean)·rstd·gamma + beta with rstd = 1/√(var + eps); y may be x (each lane reads its
// own elements before writing them).
__global__ void layernorm_forward_kernel(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                                         float* rstd, Rows r, float eps) {
  const int lane = threadIdx.x % 32;
  TANDEM_WARP_LOOP(i, r.rows) {
    const float* in = x + i * r.d;
    float* out = y + i * r.d;
    double s = 0;
    for (int64_t j = lane; j < r.d; j += 32) s += in[j];
    const double mu = warp_sum(s) / static_cast<double>(r.d);
    double q = 0;
    for (int64_t j = lane; j < r.d; j += 32) q += (in[j] - mu) * (in[j] - mu);
    q = warp_sum(q);
    const float m = static_cast<float>(mu);
    const float rs = static_cast<float>(1.0 / sqrt(q / static_cast<double>(r.d) + static_cast<double>(eps)));
    for (int64_t j = lane; j < r.d; j += 32) out[j] = (in[j] - m) * rs * gamma[j] + beta[j];
    if (lane == 0) mean[i] = m, rstd[i] = rs;
  }
}

// part [blocks][2][D]: for block b of 64 rows and column j, Σ dy·x̂ and Σ dy over the block's
// rows in order, in double (x̂ = (x − mean)·rstd in f32, as the CPU rounds it).
__global__ void layernorm_partials_kernel(const float* x, const float* dy, const float* mean, const float* rstd,
                                          double* part, Rows r, int64_t blocks) {
  TANDEM_GRID_LOOP(t, blocks * r.d) {
    const int64_t b = t / r.d, j = t % r.d;
    const int64_t end = (b + 1) * rows_per_partial < r.rows ? (b + 1) * rows_per_partial : r.rows;
    double pg = 0, pb = 0;
    for (int64_t i = b * rows_per_partial; i < end; ++i) {
      const float d = dy[i * r.d + j];
      const double xh = (x[i * r.d + j] - mean[i]) * rstd[i];
      pg += d * xh, pb += d;
    }
    part[2 * b * r.d + j] = pg;
    part[(2 * b + 1) * r.d + j] = pb;
  }
}

// dgamma[j], dbeta[j]: the blocks' partial sums added in block order (0 for no rows).
__global__ void layernorm_param_sums_kernel(const double* part, int64_t blocks, int64_t d, float* dgamma,
                                            float* dbeta) {
  TANDEM_GRID_LOOP(j, d) {
    double sg = 0, sb = 0;
    for (int64_t b = 0; b < blocks; ++b) sg += part[2 * b * d + j], sb += part[(2 * b + 1) * d + j];
    dgamma[j] = static_cast<float>(sg);
    dbeta[j] = static_cast<float>(sb);
  }
}

// dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·gamma, in double per row; dx may be dy
// (each lane reads its own elements before writing them).
__global__ void layernorm_dx_kernel(const float* x, const float* dy, const float* gamma, const float* mean,
                                    const float* rstd, float* dx, Rows r) {
  const int lane = threadIdx.x % 32;
  TANDEM_WARP_LOOP(i, r.rows) {
    const float *in = x + i * r.d, *d = dy + i * r.d;
    float* out = dx + i * r.d;
    const float m = mean[i], rs = rstd[i];
    double sg = 0, sgx = 0;
    for (int64_t j = lane; j < r.d; j += 32) {
      const double xh = (in[j] - m) * rs, g = static_cast<double>(d[j]) * gamma[j];
      sg += g, sgx += g * xh;
    }
    const double mg = warp_sum(sg) / static_cast<double>(r.d), mgx = warp_sum(sgx) / static_cast<double>(r.d);
    for (int64_t j = lane; j < r.d; j += 32) {
      const double xh = (in[j] - m) * rs;
      out[j] = static_cast<float>(rs * (static_cast<double>(d[j]) * gamma[j] - mg - xh * mgx));
    }
  }
}

const float* in_f32(const Tensor* t) { return static_cast<const float*>(t->data()); }
float* out_f32(const Tensor* t) { return static_cast<float*>(t->data()); }

}  // namespace

void layernorm_forward(const OpCall& c) {
  const Op op(c);
  const Rows r = rows_of(*c.in[0]);
  if (r.rows == 0) return;
  layernorm_forward_kernel<<<op.grid(r.rows * 32), block_threads, 0, op.s()>>>(
      in_f32(c.in[0]), in_f32(c.in[1]), in_f32(c.in[2]), out_f32(c.out[0]), out_f32(c.out[1]), out_f32(c.out[2]), r,
      c.param<LayerNormParams>().eps);
  op.launched("layernorm_forward");
}
TANDEM_KERNEL(cuda_kernels, layernorm_forward, layernorm_forward);

// The parameter gradients first: they read dy, which the dx kernel may overwrite (dx may be dy).
void layernorm_backward(const OpCall& c) {
  const Op op(c);
  const Tensor &x = *c.in[0], &dy = *c.in[1], &gamma = *c.in[2], &mean = *c.in[3], &rstd = *c.in[4];
  const Rows r = rows_of(x);
  if (r.d == 0) return;
  const int64_t blocks = (r.rows + rows_per_partial - 1) / rows_per_partial;
  const Scratch part(op, static_cast<size_t>(2 * blocks * r.d) * sizeof(double));
  if (blocks > 0) {
    layernorm_partials_kernel<<<op.grid(blocks * r.d), block_threads, 0, op.s()>>>(
        in_f32(&x), in_f32(&dy), in_f32(&mean), in_f32(&rstd), part.as<double>(), r, blocks);
    op.launched("layernorm_partials");
  }
  layernorm_param_sums_kernel<<<op.grid(r.d), block_threads, 0, op.s()>>>(part.as<double>(), blocks, r.d,
                                                                          out_f32(c.out[1]), out_f32(c.out[2]));
  op.launched("layernorm_param_sums");
  if (r.rows == 0) return;
  layernorm_dx_kernel<<<op.grid(r.rows * 32), block_threads, 0, op.s()>>>(
      in_f32(&x), in_f32(&dy), in_f32(&gamma), in_f32(&mean), in_f32(&rstd), out_f32(c.out[0]), r);
  op.launched("layernorm_dx");
}
TANDEM_KERNEL(cuda_kernels, layernorm_backward, layernorm_backward);

}  // namespace tandem::cuda
