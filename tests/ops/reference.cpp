#include "reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace tandem::ref {

Host random(const Shape& s, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  Host h{s, std::vector<float>(static_cast<size_t>(s.numel()))};
  for (float& x : h.v) x = u(rng);
  return h;
}

Host spaced(const Shape& s, uint32_t seed, float gap) {
  Host h{s, std::vector<float>(static_cast<size_t>(s.numel()))};
  std::iota(h.v.begin(), h.v.end(), 0.0f);
  std::shuffle(h.v.begin(), h.v.end(), std::mt19937(seed));
  const float mid = static_cast<float>(h.v.size()) / 2.0f;
  for (float& x : h.v) x = (x - mid + 0.5f) * gap;  // symmetric around 0, never 0 itself
  return h;
}

Host gemm(const Host& a, const Host& b, const Host& c, const GemmParams& p) {
  const int64_t m = c.shape[0], n = c.shape[1], k = p.trans_a ? a.shape[0] : a.shape[1];
  auto A = [&](int64_t i, int64_t l) { return p.trans_a ? a.v[l * a.shape[1] + i] : a.v[i * a.shape[1] + l]; };
  auto B = [&](int64_t l, int64_t j) { return p.trans_b ? b.v[j * b.shape[1] + l] : b.v[l * b.shape[1] + j]; };
  Host out = c;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t l = 0; l < k; ++l) s += static_cast<double>(A(i, l)) * B(l, j);
      const double prev = p.beta != 0.0f ? p.beta * static_cast<double>(c.v[i * n + j]) : 0.0;
      out.v[i * n + j] = static_cast<float>(p.alpha * s + prev);
    }
  return out;
}

namespace {

// Visits every (n, k, c, oh, ow, r, s) where output (oh, ow) of channel k reads input (ih, iw)
// of channel c through weight (r, s), calling f(x index, w index, y index). Filter k sees the
// w.shape[1] channels of its group, k / (K / groups); taps are dilation apart.
template <class F>
void conv_walk(const Shape& xs, const Shape& ws, const Conv2dParams& p, F f) {
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], K = ws[0], CG = ws[1], R = ws[2], S = ws[3];
  const int64_t KG = K / p.groups;
  const int64_t P = window_out(H, R, p.stride_h, p.pad_h, p.dilation_h);
  const int64_t Q = window_out(W, S, p.stride_w, p.pad_w, p.dilation_w);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t oh = 0; oh < P; ++oh)
        for (int64_t ow = 0; ow < Q; ++ow)
          for (int64_t cg = 0; cg < CG; ++cg)
            for (int64_t r = 0; r < R; ++r)
              for (int64_t s = 0; s < S; ++s) {
                const int64_t c = (k / KG) * CG + cg;
                const int64_t ih = oh * p.stride_h - p.pad_h + r * p.dilation_h;
                const int64_t iw = ow * p.stride_w - p.pad_w + s * p.dilation_w;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                f(((n * C + c) * H + ih) * W + iw, ((k * CG + cg) * R + r) * S + s, ((n * K + k) * P + oh) * Q + ow);
              }
}

Shape conv_out_shape(const Shape& xs, const Shape& ws, const Conv2dParams& p) {
  return {xs[0], ws[0], window_out(xs[2], ws[2], p.stride_h, p.pad_h, p.dilation_h),
          window_out(xs[3], ws[3], p.stride_w, p.pad_w, p.dilation_w)};
}

}  // namespace

Host conv2d_forward(const Host& x, const Host& w, const Conv2dParams& p) {
  const Shape ys = conv_out_shape(x.shape, w.shape, p);
  std::vector<double> acc(static_cast<size_t>(ys.numel()), 0.0);
  conv_walk(x.shape, w.shape, p, [&](int64_t xi, int64_t wi, int64_t yi) { acc[yi] += double(x.v[xi]) * w.v[wi]; });
  return {ys, std::vector<float>(acc.begin(), acc.end())};
}

Host conv2d_backward_data(const Host& dy, const Host& w, const Shape& x_shape, const Conv2dParams& p) {
  std::vector<double> acc(static_cast<size_t>(x_shape.numel()), 0.0);
  conv_walk(x_shape, w.shape, p, [&](int64_t xi, int64_t wi, int64_t yi) { acc[xi] += double(dy.v[yi]) * w.v[wi]; });
  return {x_shape, std::vector<float>(acc.begin(), acc.end())};
}

Host conv2d_backward_weights(const Host& x, const Host& dy, const Shape& w_shape, const Conv2dParams& p) {
  std::vector<double> acc(static_cast<size_t>(w_shape.numel()), 0.0);
  conv_walk(x.shape, w_shape, p, [&](int64_t xi, int64_t wi, int64_t yi) { acc[wi] += double(dy.v[yi]) * x.v[xi]; });
  return {w_shape, std::vector<float>(acc.begin(), acc.end())};
}

Host bias_add(const Host& y, const Host& bias) {
  Host out = y;
  const int64_t c = y.shape[1], inner = y.numel() / (y.shape[0] * c);
  for (int64_t i = 0; i < y.numel(); ++i) out.v[i] += bias.v[(i / inner) % c];
  return out;
}

Host bias_backward(const Host& dy) {
  const int64_t c = dy.shape[1], inner = dy.numel() / (dy.shape[0] * c);
  std::vector<double> acc(static_cast<size_t>(c), 0.0);
  for (int64_t i = 0; i < dy.numel(); ++i) acc[(i / inner) % c] += dy.v[i];
  return {Shape{c}, std::vector<float>(acc.begin(), acc.end())};
}

Host relu_forward(const Host& x) {
  Host y = x;
  for (float& v : y.v) v = std::max(v, 0.0f);
  return y;
}

Host relu_backward(const Host& x, const Host& dy) {
  Host dx = dy;
  for (size_t i = 0; i < dx.v.size(); ++i)
    if (!(x.v[i] > 0)) dx.v[i] = 0;
  return dx;
}

Host maxpool2d_forward(const Host& x, const Pool2dParams& p, std::vector<int32_t>& indices) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t P = window_out(H, p.kernel, p.stride, 0), Q = window_out(W, p.kernel, p.stride, 0);
  Host y{Shape{N, C, P, Q}, std::vector<float>(static_cast<size_t>(N * C * P * Q))};
  indices.assign(y.v.size(), -1);
  for (int64_t plane = 0; plane < N * C; ++plane)
    for (int64_t i = 0; i < P; ++i)
      for (int64_t j = 0; j < Q; ++j) {
        float best = -std::numeric_limits<float>::infinity();
        int64_t arg = -1;
        for (int64_t di = 0; di < p.kernel; ++di)
          for (int64_t dj = 0; dj < p.kernel; ++dj) {
            const int64_t pos = (i * p.stride + di) * W + (j * p.stride + dj);
            if (arg < 0 || x.v[plane * H * W + pos] > best) best = x.v[plane * H * W + pos], arg = pos;
          }
        y.v[(plane * P + i) * Q + j] = best;
        indices[(plane * P + i) * Q + j] = static_cast<int32_t>(arg);
      }
  return y;
}

Host maxpool2d_backward(const Host& dy, const std::vector<int32_t>& indices, const Shape& x_shape) {
  Host dx{x_shape, std::vector<float>(static_cast<size_t>(x_shape.numel()), 0.0f)};
  const int64_t per_out = dy.shape[2] * dy.shape[3], per_in = x_shape[2] * x_shape[3];
  for (int64_t i = 0; i < dy.numel(); ++i) dx.v[(i / per_out) * per_in + indices[i]] += dy.v[i];
  return dx;
}

Host softmax_xent_forward(const Host& logits, const std::vector<int32_t>& labels, float& loss, int32_t ignore) {
  const int64_t n = logits.shape[0], k = logits.shape[1];
  Host probs = logits;
  double total = 0;
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(double(logits.v[i * k + j]));
    for (int64_t j = 0; j < k; ++j)
      probs.v[i * k + j] = static_cast<float>(std::exp(double(logits.v[i * k + j])) / sum);
    if (labels[i] == ignore) continue;
    total += std::log(sum) - logits.v[i * k + labels[i]];
    ++kept;
  }
  loss = kept == 0 ? 0.0f : static_cast<float>(total / kept);
  return probs;
}

Host softmax_xent_backward(const Host& probs, const std::vector<int32_t>& labels, float dloss, int32_t ignore) {
  const int64_t n = probs.shape[0], k = probs.shape[1];
  int64_t kept = 0;
  for (int32_t l : labels) kept += l != ignore;
  Host d = probs;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j)
      d.v[i * k + j] = labels[i] == ignore ? 0.0f
                                           : dloss * (probs.v[i * k + j] - (j == labels[i] ? 1.0f : 0.0f)) /
                                                 static_cast<float>(kept);
  return d;
}

}  // namespace tandem::ref

namespace tandem::ref {
namespace {

// The channel of element i of an [N,C,...] tensor, and the values per channel.
struct Channels {
  int64_t c, inner, per_channel;
  explicit Channels(const Shape& s)
      : c(s[1]), inner(s[0] * s[1] == 0 ? 0 : s.numel() / (s[0] * s[1])), per_channel(s[0] * inner) {}
  int64_t of(int64_t i) const { return (i / inner) % c; }
};

}  // namespace

BatchNormTrain batchnorm_forward_train(const Host& x, const Host& gamma, const Host& beta, const Host& running_mean,
                                       const Host& running_var, const BatchNormParams& p) {
  const Channels ch(x.shape);
  const double n = static_cast<double>(ch.per_channel);
  std::vector<double> mean(static_cast<size_t>(ch.c), 0.0), var(static_cast<size_t>(ch.c), 0.0);
  for (int64_t i = 0; i < x.numel(); ++i) mean[ch.of(i)] += x.v[i];
  for (double& m : mean) m /= n;
  for (int64_t i = 0; i < x.numel(); ++i) var[ch.of(i)] += (x.v[i] - mean[ch.of(i)]) * (x.v[i] - mean[ch.of(i)]);
  for (double& v : var) v /= n;
  BatchNormTrain out{x, gamma, gamma, running_mean, running_var};
  for (int64_t c = 0; c < ch.c; ++c) {
    const double invstd = 1.0 / std::sqrt(var[c] + p.eps);
    out.save_mean.v[c] = static_cast<float>(mean[c]);
    out.save_invstd.v[c] = static_cast<float>(invstd);
    out.running_mean.v[c] = static_cast<float>((1.0 - p.momentum) * running_mean.v[c] + p.momentum * mean[c]);
    out.running_var.v[c] =
        static_cast<float>((1.0 - p.momentum) * running_var.v[c] + p.momentum * var[c] * n / (n - 1));
  }
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = ch.of(i);
    out.y.v[i] = static_cast<float>((x.v[i] - mean[c]) / std::sqrt(var[c] + p.eps) * gamma.v[c] + beta.v[c]);
  }
  return out;
}

Host batchnorm_forward_infer(const Host& x, const Host& gamma, const Host& beta, const Host& running_mean,
                             const Host& running_var, const BatchNormParams& p) {
  const Channels ch(x.shape);
  Host y = x;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = ch.of(i);
    y.v[i] = static_cast<float>(
        (double(x.v[i]) - running_mean.v[c]) / std::sqrt(double(running_var.v[c]) + p.eps) * gamma.v[c] + beta.v[c]);
  }
  return y;
}

BatchNormGrads batchnorm_backward(const Host& x, const Host& dy, const Host& gamma, const Host& save_mean,
                                  const Host& save_invstd) {
  const Channels ch(x.shape);
  const double n = static_cast<double>(ch.per_channel);
  auto xhat = [&](int64_t i) { return (double(x.v[i]) - save_mean.v[ch.of(i)]) * save_invstd.v[ch.of(i)]; };
  std::vector<double> sum_dy(static_cast<size_t>(ch.c), 0.0), sum_dy_xhat(static_cast<size_t>(ch.c), 0.0);
  for (int64_t i = 0; i < x.numel(); ++i) {
    sum_dy[ch.of(i)] += dy.v[i];
    sum_dy_xhat[ch.of(i)] += dy.v[i] * xhat(i);
  }
  BatchNormGrads g{dy, gamma, gamma};
  for (int64_t c = 0; c < ch.c; ++c) {
    g.dbeta.v[c] = static_cast<float>(sum_dy[c]);
    g.dgamma.v[c] = static_cast<float>(sum_dy_xhat[c]);
  }
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = ch.of(i);
    g.dx.v[i] = static_cast<float>(double(gamma.v[c]) * save_invstd.v[c] / n *
                                   (n * dy.v[i] - sum_dy[c] - xhat(i) * sum_dy_xhat[c]));
  }
  return g;
}

Host avgpool2d_forward(const Host& x, const Pool2dParams& p) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t P = window_out(H, p.kernel, p.stride, 0), Q = window_out(W, p.kernel, p.stride, 0);
  Host y{Shape{N, C, P, Q}, std::vector<float>(static_cast<size_t>(N * C * P * Q))};
  for (int64_t plane = 0; plane < N * C; ++plane)
    for (int64_t i = 0; i < P; ++i)
      for (int64_t j = 0; j < Q; ++j) {
        double s = 0;
        for (int64_t di = 0; di < p.kernel; ++di)
          for (int64_t dj = 0; dj < p.kernel; ++dj) s += x.v[(plane * H + i * p.stride + di) * W + j * p.stride + dj];
        y.v[(plane * P + i) * Q + j] = static_cast<float>(s / (p.kernel * p.kernel));
      }
  return y;
}

// The adjoint, scattered: each output's gradient spread evenly over its window.
Host avgpool2d_backward(const Host& dy, const Shape& x_shape, const Pool2dParams& p) {
  const int64_t H = x_shape[2], W = x_shape[3], P = dy.shape[2], Q = dy.shape[3];
  std::vector<double> acc(static_cast<size_t>(x_shape.numel()), 0.0);
  for (int64_t plane = 0; plane < x_shape[0] * x_shape[1]; ++plane)
    for (int64_t i = 0; i < P; ++i)
      for (int64_t j = 0; j < Q; ++j)
        for (int64_t di = 0; di < p.kernel; ++di)
          for (int64_t dj = 0; dj < p.kernel; ++dj)
            acc[(plane * H + i * p.stride + di) * W + j * p.stride + dj] +=
                double(dy.v[(plane * P + i) * Q + j]) / (p.kernel * p.kernel);
  return {x_shape, std::vector<float>(acc.begin(), acc.end())};
}

Host dropout(const Host& x, const DropoutParams& p) {
  Host y = x;
  const float scale = p.p < 1.0f ? 1.0f / (1.0f - p.p) : 0.0f;
  for (int64_t i = 0; i < x.numel(); ++i)
    y.v[i] = numeric::random_uniform(p.key, static_cast<uint64_t>(i)) >= p.p ? x.v[i] * scale : 0.0f;
  return y;
}

void adam(const Host& g, Host& w, Host& m, Host& v, double lr, double beta1, double beta2, double eps, double wd,
          bool decoupled, int64_t t) {
  for (int64_t i = 0; i < g.numel(); ++i) {
    double gi = g.v[i], wi = w.v[i];
    if (decoupled)
      wi -= lr * wd * wi;
    else
      gi += wd * wi;
    const double mi = beta1 * m.v[i] + (1 - beta1) * gi, vi = beta2 * v.v[i] + (1 - beta2) * gi * gi;
    const double m_hat = mi / (1 - std::pow(beta1, double(t))), v_hat = vi / (1 - std::pow(beta2, double(t)));
    w.v[i] = static_cast<float>(wi - lr * m_hat / (std::sqrt(v_hat) + eps));
    m.v[i] = static_cast<float>(mi);
    v.v[i] = static_cast<float>(vi);
  }
}

Host global_avgpool_forward(const Host& x) {
  const int64_t planes = x.shape[0] * x.shape[1], hw = x.shape[2] * x.shape[3];
  Host y{Shape{x.shape[0], x.shape[1]}, std::vector<float>(static_cast<size_t>(planes))};
  for (int64_t p = 0; p < planes; ++p) {
    double s = 0;
    for (int64_t i = 0; i < hw; ++i) s += x.v[p * hw + i];
    y.v[p] = static_cast<float>(s / hw);
  }
  return y;
}

Host global_avgpool_backward(const Host& dy, const Shape& x_shape) {
  const int64_t hw = x_shape[2] * x_shape[3];
  Host dx{x_shape, std::vector<float>(static_cast<size_t>(x_shape.numel()))};
  for (int64_t i = 0; i < dx.numel(); ++i) dx.v[i] = static_cast<float>(double(dy.v[i / hw]) / hw);
  return dx;
}

}  // namespace tandem::ref
