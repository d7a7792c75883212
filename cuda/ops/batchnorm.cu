// Batch normalization over the channel of x [N,C,inner]: a block per channel (grid-stride over
// channels) sums in double for the statistics and the backward reductions, then one thread per
// element normalizes or forms the input gradient. The float steps are the CPU's, with explicit
// _rn operations (two roundings, never a fused multiply-add).
#include <algorithm>

#include "common.cuh"
#include "op.h"

namespace tandem::cuda {
namespace {

// The batch mean and biased variance (two passes), saved as mean and 1/√(var + eps); the
// running statistics take the unbiased variance.
__global__ void stats_kernel(const float* x, float* save_mean, float* save_invstd, float* running_mean,
                             float* running_var, Planes p, float eps, float momentum) {
  const int64_t per_channel = p.n * p.inner;
  const double count = static_cast<double>(per_channel);
  for (int64_t c = blockIdx.x; c < p.c; c += gridDim.x) {
    double sum = 0;
    for (int64_t j = threadIdx.x; j < per_channel; j += blockDim.x)
      sum += x[((j / p.inner) * p.c + c) * p.inner + j % p.inner];
    const double mean = block_sum(sum) / count;
    double sq = 0;
    for (int64_t j = threadIdx.x; j < per_channel; j += blockDim.x) {
      const double d = x[((j / p.inner) * p.c + c) * p.inner + j % p.inner] - mean;
      sq += d * d;
    }
    const double var = block_sum(sq) / count;
    if (threadIdx.x == 0) {
      const float m = static_cast<float>(mean), unbiased = static_cast<float>(var * count / (count - 1.0));
      const float keep = __fsub_rn(1.0f, momentum);
      save_mean[c] = m;
      save_invstd[c] = static_cast<float>(1.0 / sqrt(var + static_cast<double>(eps)));
      running_mean[c] = __fadd_rn(__fmul_rn(keep, running_mean[c]), __fmul_rn(momentum, m));
      running_var[c] = __fadd_rn(__fmul_rn(keep, running_var[c]), __fmul_rn(momentum, unbiased));
    }
  }
}

// y = (x − mean[c])·(invstd[c]·gamma[c]) + beta[c], invstd from the saved statistics (training)
// or from the running variance (inference, `from_variance`), then max(y, 0) with `relu`; y may be x.
__global__ void normalize_kernel(const float* x, const float* gamma, const float* beta, const float* mean,
                                 const float* invstd_or_var, bool from_variance, float eps, bool relu, float* y,
                                 int64_t channels, int64_t inner, int64_t n) {
  TANDEM_GRID_LOOP(i, n) {
    const int64_t c = (i / inner) % channels;
    const float invstd =
        from_variance ? static_cast<float>(1.0 / sqrt(static_cast<double>(invstd_or_var[c]) + static_cast<double>(eps)))
                      : invstd_or_var[c];
    const float v = __fadd_rn(__fmul_rn(__fsub_rn(x[i], mean[c]), __fmul_rn(invstd, gamma[c])), beta[c]);
    y[i] = relu && !(v > 0.0f) ? 0.0f : v;  // NaN gives 0, as relu_forward
  }
}

// Inference normalization folded into the weights w [K, per] before it: thread i scales weight
// i; threads below K also fold their channel's bias (in place). The inference pass's steps.
__global__ void fold_kernel(const float* w, const float* gamma, const float* beta, const float* mean, const float* var,
                            float eps, float* w_out, float* bias, int64_t channels, int64_t per) {
  const auto scale = [&](int64_t c) {
    const float invstd = static_cast<float>(1.0 / sqrt(static_cast<double>(var[c]) + static_cast<double>(eps)));
    return __fmul_rn(invstd, gamma[c]);
  };
  TANDEM_GRID_LOOP(i, channels * per > channels ? channels * per : channels) {
    if (i < channels * per) w_out[i] = __fmul_rn(w[i], scale(i / per));
    if (i < channels) bias[i] = __fadd_rn(__fmul_rn(__fsub_rn(bias[i], mean[i]), scale(i)), beta[i]);
  }
}

// dbeta = Σ dy, dgamma = invstd·Σ dy·(x − mean), and coef[c] = (a, b, k) for
// dx = a·((dy − b) − (x − mean)·k).
__global__ void backward_reduce_kernel(const float* x, const float* dy, const float* gamma, const float* mean,
                                       const float* invstd, float* dgamma, float* dbeta, float* coef, Planes p) {
  const int64_t per_channel = p.n * p.inner;
  const double count = static_cast<double>(per_channel);
  for (int64_t c = blockIdx.x; c < p.c; c += gridDim.x) {
    const double m = mean[c];
    double s = 0, sx = 0;
    for (int64_t j = threadIdx.x; j < per_channel; j += blockDim.x) {
      const int64_t at = ((j / p.inner) * p.c + c) * p.inner + j % p.inner;
      s += dy[at];
      sx += static_cast<double>(dy[at]) * (x[at] - m);
    }
    s = block_sum(s);
    sx = block_sum(sx);
    if (threadIdx.x == 0) {
      const double inv = invstd[c];
      dbeta[c] = static_cast<float>(s);
      dgamma[c] = static_cast<float>(sx * inv);
      coef[3 * c] = __fmul_rn(gamma[c], invstd[c]);
      coef[3 * c + 1] = count > 0 ? static_cast<float>(s / count) : 0.0f;
      coef[3 * c + 2] = count > 0 ? static_cast<float>(sx * inv * inv / count) : 0.0f;
    }
  }
}

// dx may be dy: each thread reads its dy element, then writes the same position.
__global__ void backward_apply_kernel(const float* x, const float* dy, const float* mean, const float* coef, float* dx,
                                      int64_t channels, int64_t inner, int64_t n) {
  TANDEM_GRID_LOOP(i, n) {
    const int64_t c = (i / inner) % channels;
    const float* k = coef + 3 * c;
    dx[i] = __fmul_rn(k[0], __fsub_rn(__fsub_rn(dy[i], k[1]), __fmul_rn(__fsub_rn(x[i], mean[c]), k[2])));
  }
}

unsigned channel_blocks(int64_t channels) { return static_cast<unsigned>(std::min<int64_t>(channels, 65535)); }

const float* in_f32(const Tensor* t) { return static_cast<const float*>(t->data()); }
float* out_f32(const Tensor* t) { return static_cast<float*>(t->data()); }

}  // namespace

void batchnorm_forward_train(const OpCall& c) {
  const Op op(c);
  const auto& p = c.param<BatchNormParams>();
  const Planes pl = planes(c.in[0]->shape());
  if (pl.c == 0) return;
  stats_kernel<<<channel_blocks(pl.c), block_threads, 0, op.s()>>>(in_f32(c.in[0]), out_f32(c.out[1]),
                                                                   out_f32(c.out[2]), out_f32(c.out[3]),
                                                                   out_f32(c.out[4]), pl, p.eps, p.momentum);
  op.launched("batchnorm_stats");
  const int64_t n = c.in[0]->numel();
  normalize_kernel<<<op.grid(n), block_threads, 0, op.s()>>>(in_f32(c.in[0]), in_f32(c.in[1]), in_f32(c.in[2]),
                                                             in_f32(c.out[1]), in_f32(c.out[2]), false, p.eps, p.relu,
                                                             out_f32(c.out[0]), pl.c, pl.inner, n);
  op.launched("batchnorm_normalize");
}
TANDEM_KERNEL(cuda_kernels, batchnorm_forward_train, batchnorm_forward_train);

void batchnorm_forward_infer(const OpCall& c) {
  const Op op(c);
  const Planes pl = planes(c.in[0]->shape());
  const int64_t n = c.in[0]->numel();
  if (n == 0) return;
  normalize_kernel<<<op.grid(n), block_threads, 0, op.s()>>>(
      in_f32(c.in[0]), in_f32(c.in[1]), in_f32(c.in[2]), in_f32(c.in[3]), in_f32(c.in[4]), true,
      c.param<BatchNormParams>().eps, c.param<BatchNormParams>().relu, out_f32(c.out[0]), pl.c, pl.inner, n);
  op.launched("batchnorm_normalize");
}
TANDEM_KERNEL(cuda_kernels, batchnorm_forward_infer, batchnorm_forward_infer);

void batchnorm_fold(const OpCall& c) {
  const Op op(c);
  const int64_t k = c.in[0]->shape()[0], per = k == 0 ? 0 : c.in[0]->numel() / k;
  if (k == 0) return;
  fold_kernel<<<op.grid(std::max(k * per, k)), block_threads, 0, op.s()>>>(
      in_f32(c.in[0]), in_f32(c.in[1]), in_f32(c.in[2]), in_f32(c.in[3]), in_f32(c.in[4]),
      c.param<BatchNormParams>().eps, out_f32(c.out[0]), out_f32(c.out[1]), k, per);
  op.launched("batchnorm_fold");
}
TANDEM_KERNEL(cuda_kernels, batchnorm_fold, batchnorm_fold);

void batchnorm_backward(const OpCall& c) {
  const Op op(c);
  const Planes pl = planes(c.in[0]->shape());
  if (pl.c == 0) return;
  const Scratch coef(op, static_cast<size_t>(pl.c) * 3 * sizeof(float));
  backward_reduce_kernel<<<channel_blocks(pl.c), block_threads, 0, op.s()>>>(
      in_f32(c.in[0]), in_f32(c.in[1]), in_f32(c.in[2]), in_f32(c.in[3]), in_f32(c.in[4]), out_f32(c.out[1]),
      out_f32(c.out[2]), coef.as<float>(), pl);
  op.launched("batchnorm_backward_reduce");
  const int64_t n = c.in[0]->numel();
  if (n == 0) return;
  backward_apply_kernel<<<op.grid(n), block_threads, 0, op.s()>>>(
      in_f32(c.in[0]), in_f32(c.in[1]), in_f32(c.in[3]), coef.as<float>(), out_f32(c.out[0]), pl.c, pl.inner, n);
  op.launched("batchnorm_backward_apply");
}
TANDEM_KERNEL(cuda_kernels, batchnorm_backward, batchnorm_backward);

}  // namespace tandem::cuda
