// Batch normalization. Statistics are summed in double per (image, channel) row — the rows in
// parallel — and the rows of a channel combined in image order, so the result does not depend on
// the thread count. The variance is two-pass (the mean first, then the squared deviations from
// it): no cancellation when the mean is large against the spread.
#include <cmath>
#include <vector>

#include "../kernels.h"

namespace tandem::cpu {
namespace {

double row_sum(const float* v, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += v[i];
  return s;
}

double row_squared_deviation(const float* v, int64_t n, double mean) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) {
    const double d = v[i] - mean;
    s += d * d;
  }
  return s;
}

// Σ over the rows of channel c of per-row partial sums, in image order.
double channel_total(const std::vector<double>& rows, const Planes& pl, int64_t c) {
  double s = 0;
  for (int64_t n = 0; n < pl.n; ++n) s += rows[static_cast<size_t>(n * pl.c + c)];
  return s;
}

// y = (x − mean[c])·scale[c] + shift[c] for every row, then max(y, 0) with `relu`; y may be x.
void normalize(const float* xs, float* ys, const Planes& pl, const std::vector<float>& mean,
               const std::vector<float>& scale, const float* shift, bool relu) {
  parallel_for(pl.n * pl.c, pl.n * pl.c * pl.inner, [&](int64_t row) {
    const int64_t c = row % pl.c;
    const float m = mean[static_cast<size_t>(c)], k = scale[static_cast<size_t>(c)], b = shift[c];
    const float* in = xs + row * pl.inner;
    float* out = ys + row * pl.inner;
    for (int64_t i = 0; i < pl.inner; ++i) out[i] = (in[i] - m) * k + b;  // out may be in: no simd pragma
    if (relu)
      for (int64_t i = 0; i < pl.inner; ++i) out[i] = out[i] > 0.0f ? out[i] : 0.0f;
  });
}

}  // namespace

void batchnorm_forward_train(const OpCall& call) {
  const Tensor &x = *call.in[0], &y = *call.out[0];
  const auto& p = call.param<BatchNormParams>();
  const Planes pl = planes(x.shape());
  const float* xs = static_cast<const float*>(x.data());
  const float* gamma = static_cast<const float*>(call.in[1]->data());
  const float* beta = static_cast<const float*>(call.in[2]->data());
  float* save_mean = static_cast<float*>(call.out[1]->data());
  float* save_invstd = static_cast<float*>(call.out[2]->data());
  float* running_mean = static_cast<float*>(call.out[3]->data());
  float* running_var = static_cast<float*>(call.out[4]->data());
  const int64_t rows = pl.n * pl.c;
  const double count = static_cast<double>(pl.n * pl.inner);  // ≥ 2 (validated)

  std::vector<double> part(static_cast<size_t>(rows)), mean(static_cast<size_t>(pl.c));
  parallel_for(rows, x.numel(),
               [&](int64_t r) { part[static_cast<size_t>(r)] = row_sum(xs + r * pl.inner, pl.inner); });
  for (int64_t c = 0; c < pl.c; ++c) mean[static_cast<size_t>(c)] = channel_total(part, pl, c) / count;
  parallel_for(rows, x.numel(), [&](int64_t r) {
    part[static_cast<size_t>(r)] =
        row_squared_deviation(xs + r * pl.inner, pl.inner, mean[static_cast<size_t>(r % pl.c)]);
  });

  std::vector<float> mean_f(static_cast<size_t>(pl.c)), scale(static_cast<size_t>(pl.c));
  for (int64_t c = 0; c < pl.c; ++c) {
    const size_t i = static_cast<size_t>(c);
    const double var = channel_total(part, pl, c) / count;
    mean_f[i] = static_cast<float>(mean[i]);
    const float invstd = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(p.eps)));
    save_mean[c] = mean_f[i];
    save_invstd[c] = invstd;
    scale[i] = invstd * gamma[c];
    const float unbiased = static_cast<float>(var * count / (count - 1.0));
    running_mean[c] = (1.0f - p.momentum) * running_mean[c] + p.momentum * mean_f[i];
    running_var[c] = (1.0f - p.momentum) * running_var[c] + p.momentum * unbiased;
  }
  normalize(xs, static_cast<float*>(y.data()), pl, mean_f, scale, beta, p.relu);
}
TANDEM_KERNEL(cpu_kernels, batchnorm_forward_train, batchnorm_forward_train);

void batchnorm_forward_infer(const OpCall& call) {
  const Tensor &x = *call.in[0], &y = *call.out[0];
  const auto& p = call.param<BatchNormParams>();
  const Planes pl = planes(x.shape());
  const float* gamma = static_cast<const float*>(call.in[1]->data());
  const float* rmean = static_cast<const float*>(call.in[3]->data());
  const float* rvar = static_cast<const float*>(call.in[4]->data());
  std::vector<float> mean(static_cast<size_t>(pl.c)), scale(static_cast<size_t>(pl.c));
  for (int64_t c = 0; c < pl.c; ++c) {
    const float invstd = static_cast<float>(1.0 / std::sqrt(static_cast<double>(rvar[c]) + static_cast<double>(p.eps)));
    mean[static_cast<size_t>(c)] = rmean[c];
    scale[static_cast<size_t>(c)] = invstd * gamma[c];
  }
  normalize(static_cast<const float*>(x.data()), static_cast<float*>(y.data()), pl, mean, scale,
            static_cast<const float*>(call.in[2]->data()), p.relu);
}
TANDEM_KERNEL(cpu_kernels, batchnorm_forward_infer, batchnorm_forward_infer);

void batchnorm_fold(const OpCall& call) {
  const Tensor &w = *call.in[0], &w_out = *call.out[0];
  const auto& p = call.param<BatchNormParams>();
  const int64_t k = w.shape()[0], per = k == 0 ? 0 : w.numel() / k;
  const float* ws = static_cast<const float*>(w.data());
  const float* gamma = static_cast<const float*>(call.in[1]->data());
  const float* beta = static_cast<const float*>(call.in[2]->data());
  const float* rmean = static_cast<const float*>(call.in[3]->data());
  const float* rvar = static_cast<const float*>(call.in[4]->data());
  float* out = static_cast<float*>(w_out.data());
  float* bias = static_cast<float*>(call.out[1]->data());
  parallel_for(k, w.numel(), [&](int64_t c) {
    // The inference pass's scale, computed the same way (batchnorm_forward_infer above).
    const float invstd = static_cast<float>(1.0 / std::sqrt(static_cast<double>(rvar[c]) + static_cast<double>(p.eps)));
    const float scale = invstd * gamma[c];
    for (int64_t i = c * per; i < (c + 1) * per; ++i) out[i] = ws[i] * scale;
    bias[c] = (bias[c] - rmean[c]) * scale + beta[c];
  });
}
TANDEM_KERNEL(cpu_kernels, batchnorm_fold, batchnorm_fold);

// With x̂ = (x − mean)·invstd and n values per channel: dbeta = Σ dy, dgamma = Σ dy·x̂, and
// dx = gamma·invstd·(dy − dbeta/n − x̂·dgamma/n) = a·((dy − b) − (x − mean)·k).
void batchnorm_backward(const OpCall& call) {
  const Tensor &x = *call.in[0], &dy = *call.in[1];
  const Planes pl = planes(x.shape());
  const float* xs = static_cast<const float*>(x.data());
  const float* dys = static_cast<const float*>(dy.data());
  const float* gamma = static_cast<const float*>(call.in[2]->data());
  const float* mean = static_cast<const float*>(call.in[3]->data());
  const float* invstd = static_cast<const float*>(call.in[4]->data());
  float* dxs = static_cast<float*>(call.out[0]->data());
  float* dgamma = static_cast<float*>(call.out[1]->data());
  float* dbeta = static_cast<float*>(call.out[2]->data());
  const int64_t rows = pl.n * pl.c;
  const double count = static_cast<double>(pl.n * pl.inner);

  // Both reductions over dy finish before dx is written (dx may be dy).
  std::vector<double> sum_dy(static_cast<size_t>(rows)), sum_dyx(static_cast<size_t>(rows));
  parallel_for(rows, 2 * x.numel(), [&](int64_t r) {
    const float* g = dys + r * pl.inner;
    const float* in = xs + r * pl.inner;
    const double m = mean[r % pl.c];
    double s = 0, sx = 0;
#pragma omp simd reduction(+ : s, sx)
    for (int64_t i = 0; i < pl.inner; ++i) {
      s += g[i];
      sx += static_cast<double>(g[i]) * (in[i] - m);
    }
    sum_dy[static_cast<size_t>(r)] = s;
    sum_dyx[static_cast<size_t>(r)] = sx;
  });

  std::vector<float> a(static_cast<size_t>(pl.c)), b(static_cast<size_t>(pl.c)), k(static_cast<size_t>(pl.c));
  for (int64_t c = 0; c < pl.c; ++c) {
    const size_t i = static_cast<size_t>(c);
    const double s = channel_total(sum_dy, pl, c), sx = channel_total(sum_dyx, pl, c), inv = invstd[c];
    dbeta[c] = static_cast<float>(s);
    dgamma[c] = static_cast<float>(sx * inv);
    a[i] = gamma[c] * invstd[c];
    b[i] = count > 0 ? static_cast<float>(s / count) : 0.0f;
    k[i] = count > 0 ? static_cast<float>(sx * inv * inv / count) : 0.0f;
  }
  parallel_for(rows, x.numel(), [&](int64_t r) {
    const size_t c = static_cast<size_t>(r % pl.c);
    const float m = mean[c], ac = a[c], bc = b[c], kc = k[c];
    const float* g = dys + r * pl.inner;
    const float* in = xs + r * pl.inner;
    float* out = dxs + r * pl.inner;
    for (int64_t i = 0; i < pl.inner; ++i) out[i] = ac * ((g[i] - bc) - (in[i] - m) * kc);  // out may be g
  });
}
TANDEM_KERNEL(cpu_kernels, batchnorm_backward, batchnorm_backward);

}  // namespace tandem::cpu
