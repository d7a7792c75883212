// The transformer ops on every device against naive references (computed here in double, straight
// from the definitions): batched matmul, softmax (any axis, scaled, masked), layer norm, the smooth
// activations, embeddings, permute, slices and concatenations, broadcast arithmetic and sum_to,
// and fused attention against attention written out (products, softmax, products).
#include <cmath>
#include <numeric>

#include "cases.h"

namespace tandem::test {
namespace {

using ref::Host;

Host zeros_like(const Shape& s) { return {s, std::vector<float>(static_cast<size_t>(s.numel()), 0.0f)}; }

Host gemm_batched(const Host& a, const Host& b, const Host& c, const GemmParams& p) {
  Host out = c;
  const int64_t B = c.shape[0], m = c.shape[1], n = c.shape[2], k = p.trans_a ? a.shape[1] : a.shape[2];
  for (int64_t i = 0; i < B; ++i)
    for (int64_t r = 0; r < m; ++r)
      for (int64_t col = 0; col < n; ++col) {
        double s = 0;
        for (int64_t t = 0; t < k; ++t) {
          const double x =
              p.trans_a ? a.v[static_cast<size_t>((i * k + t) * m + r)] : a.v[static_cast<size_t>((i * m + r) * k + t)];
          const double y = p.trans_b ? b.v[static_cast<size_t>((i * n + col) * k + t)]
                                     : b.v[static_cast<size_t>((i * k + t) * n + col)];
          s += x * y;
        }
        float& o = out.v[static_cast<size_t>((i * m + r) * n + col)];
        o = static_cast<float>(p.alpha * s + (p.beta == 0.0f ? 0.0 : double(p.beta) * o));
      }
  return out;
}

// softmax along `axis` (keep: u8 [M, n] for the last axis, or empty).
Host softmax(const Host& x, int axis, float scale, const std::vector<uint8_t>& keep = {}, int64_t mask_rows = 1) {
  Host y = x;
  const AxisSplit s = split_at(x.shape, axis);
  const int64_t lines = s.outer * s.inner;
  for (int64_t line = 0; line < lines; ++line) {
    const int64_t o = line / s.inner, i = line % s.inner, base = o * s.n * s.inner + i;
    const uint8_t* k = keep.empty() ? nullptr : keep.data() + (line / (lines / mask_rows)) * s.n;
    double mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < s.n; ++j)
      if (!k || k[j]) mx = std::max(mx, double(scale) * x.v[static_cast<size_t>(base + j * s.inner)]);
    for (int64_t j = 0; j < s.n; ++j)
      if (!k || k[j]) sum += std::exp(double(scale) * x.v[static_cast<size_t>(base + j * s.inner)] - mx);
    for (int64_t j = 0; j < s.n; ++j) {
      const size_t e = static_cast<size_t>(base + j * s.inner);
      y.v[e] = (k && !k[j]) || sum == 0 ? 0.0f : static_cast<float>(std::exp(double(scale) * x.v[e] - mx) / sum);
    }
  }
  return y;
}

Host softmax_backward(const Host& y, const Host& dy, int axis, float scale) {
  Host dx = y;
  const AxisSplit s = split_at(y.shape, axis);
  for (int64_t line = 0; line < s.outer * s.inner; ++line) {
    const int64_t o = line / s.inner, i = line % s.inner, base = o * s.n * s.inner + i;
    double dot = 0;
    for (int64_t j = 0; j < s.n; ++j)
      dot += double(dy.v[static_cast<size_t>(base + j * s.inner)]) * y.v[static_cast<size_t>(base + j * s.inner)];
    for (int64_t j = 0; j < s.n; ++j) {
      const size_t e = static_cast<size_t>(base + j * s.inner);
      dx.v[e] = static_cast<float>(scale * y.v[e] * (dy.v[e] - dot));
    }
  }
  return dx;
}

struct LayerNorm {
  Host y, mean, rstd;
};
LayerNorm layernorm(const Host& x, const Host& g, const Host& b, float eps) {
  const int64_t d = x.shape[x.shape.rank() - 1], rows = x.numel() / d;
  LayerNorm r{x, zeros_like({rows}), zeros_like({rows})};
  for (int64_t i = 0; i < rows; ++i) {
    double m = 0, q = 0;
    for (int64_t j = 0; j < d; ++j) m += x.v[static_cast<size_t>(i * d + j)];
    m /= double(d);
    for (int64_t j = 0; j < d; ++j) q += std::pow(x.v[static_cast<size_t>(i * d + j)] - m, 2);
    const double rstd = 1.0 / std::sqrt(q / double(d) + eps);
    for (int64_t j = 0; j < d; ++j)
      r.y.v[static_cast<size_t>(i * d + j)] = static_cast<float>(
          (x.v[static_cast<size_t>(i * d + j)] - m) * rstd * g.v[static_cast<size_t>(j)] + b.v[static_cast<size_t>(j)]);
    r.mean.v[static_cast<size_t>(i)] = static_cast<float>(m),
    r.rstd.v[static_cast<size_t>(i)] = static_cast<float>(rstd);
  }
  return r;
}

double activation(Activation a, double x) {
  switch (a) {
    case Activation::gelu:
      return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case Activation::gelu_tanh:
      return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    case Activation::tanh:
      return std::tanh(x);
    case Activation::sigmoid:
      return 1.0 / (1.0 + std::exp(-x));
  }
  return x;
}

// Row-major coordinates of element i of shape s.
std::vector<int64_t> coords(int64_t i, const Shape& s) {
  std::vector<int64_t> c(static_cast<size_t>(s.rank()));
  for (int k = s.rank() - 1; k >= 0; --k) c[static_cast<size_t>(k)] = i % s[k], i /= s[k];
  return c;
}
int64_t flat(const std::vector<int64_t>& c, const Shape& s) {
  int64_t i = 0;
  for (int k = 0; k < s.rank(); ++k) i = i * s[k] + c[static_cast<size_t>(k)];
  return i;
}
// The element of `from` (broadcast to `to`) read at coordinates c of `to`.
int64_t broadcast_index(const std::vector<int64_t>& c, const Shape& from, const Shape& to) {
  std::vector<int64_t> f(static_cast<size_t>(from.rank()));
  for (int k = 1; k <= from.rank(); ++k)
    f[static_cast<size_t>(from.rank() - k)] = from[from.rank() - k] == 1 ? 0 : c[static_cast<size_t>(to.rank() - k)];
  return flat(f, from);
}

void add_gemm_batched_cases(std::vector<OpCase>& cases) {
  struct G {
    int64_t b, m, n, k;
  };
  uint32_t seed = 7000;
  for (G g : {G{1, 1, 1, 1}, G{3, 5, 7, 4}, G{8, 50, 50, 16}, G{8, 50, 16, 50}, G{2, 33, 17, 64}})
    for (int t = 0; t < 4; ++t) {
      const GemmParams p{(t & 1) != 0, (t & 2) != 0, t == 3 ? 0.125f : 1.0f, t == 3 ? 0.5f : 0.0f};
      const std::string name = "gemm_batched/" + std::to_string(g.b) + "x" + std::to_string(g.m) + "x" +
                               std::to_string(g.n) + "x" + std::to_string(g.k) + (p.trans_a ? "_ta" : "") +
                               (p.trans_b ? "_tb" : "") + (p.beta != 0 ? "_beta" : "");
      cases.push_back({name, &opdesc::gemm_batched, [g, p, s = seed++](const Device& d, Stream& st) {
                         const Host a = ref::random(p.trans_a ? Shape{g.b, g.k, g.m} : Shape{g.b, g.m, g.k}, s);
                         const Host b = ref::random(p.trans_b ? Shape{g.b, g.n, g.k} : Shape{g.b, g.k, g.n}, s + 1);
                         const Host c = ref::random({g.b, g.m, g.n}, s + 2);
                         Tensor A = up(d, a), B = up(d, b), C = up(d, c);
                         ops::gemm_batched(st, A, B, C, p);
                         expect_close(down(C).v, gemm_batched(a, b, c, p).v, 1e-4, 1e-4, "gemm_batched");
                       }});
    }
}

void add_softmax_cases(std::vector<OpCase>& cases) {
  struct S {
    Shape shape;
    int axis;
    float scale;
  };
  uint32_t seed = 7100;
  for (const S& c : {S{{4, 10}, -1, 1.0f}, S{{2, 3, 50}, 2, 0.25f}, S{{3, 7, 5}, 1, 1.0f}, S{{6, 4, 3}, 0, 2.0f},
                     S{{1, 1}, 0, 1.0f}, S{{64, 50, 50}, -1, 0.25f}, S{{2, 300}, 1, 1.0f}}) {
    const std::string tag = c.shape.str() + "_axis" + std::to_string(c.axis) + (c.scale != 1 ? "_scaled" : "");
    const uint32_t s = seed += 3;
    cases.push_back({"softmax_forward/" + tag, &opdesc::softmax_forward, [c, s](const Device& d, Stream& st) {
                       const Host x = ref::random(c.shape, s, -6, 6);
                       Tensor X = up(d, x), Y = Tensor::empty(d, c.shape);
                       ops::softmax_forward(st, X, Y, {c.axis, c.scale});
                       expect_close(down(Y).v, softmax(x, normalize_axis(c.axis, c.shape.rank()), c.scale).v, 1e-6,
                                    1e-5, "softmax");
                       ops::softmax_forward(st, X, X, {c.axis, c.scale});  // in place
                       expect_close(down(X).v, down(Y).v, 0, 0, "softmax in place");
                     }});
    cases.push_back({"softmax_backward/" + tag, &opdesc::softmax_backward, [c, s](const Device& d, Stream& st) {
                       const int axis = normalize_axis(c.axis, c.shape.rank());
                       const Host y = softmax(ref::random(c.shape, s, -3, 3), axis, c.scale),
                                  dy = ref::random(c.shape, s + 1);
                       Tensor Y = up(d, y), DY = up(d, dy), DX = Tensor::empty(d, c.shape);
                       ops::softmax_backward(st, Y, DY, DX, {c.axis, c.scale});
                       const Host want = softmax_backward(y, dy, axis, c.scale);
                       expect_close(down(DX).v, want.v, 1e-6, 1e-5, "softmax_backward");
                       ops::softmax_backward(st, Y, DY, DY, {c.axis, c.scale});  // in place
                       expect_close(down(DY).v, down(DX).v, 0, 0, "softmax_backward in place");
                     }});
  }
  // Key padding: scores [N·heads·T, T] with one mask row per sample; a fully masked row is 0.
  for (const auto& [rows, n, mrows] :
       std::vector<std::tuple<int64_t, int64_t, int64_t>>{{6, 5, 2}, {4 * 3 * 9, 9, 4}, {3, 40, 3}}) {
    const std::string tag = std::to_string(rows) + "x" + std::to_string(n) + "_mask" + std::to_string(mrows);
    cases.push_back(
        {"masked_softmax_forward/" + tag, &opdesc::masked_softmax_forward,
         [rows = rows, n = n, mrows = mrows, s = seed++](const Device& d,
                                                         Stream& st) {  // (clang 14: no captured bindings)
           const Host x = ref::random({rows, n}, s, -5, 5);
           std::vector<uint8_t> keep(static_cast<size_t>(mrows * n));
           for (size_t i = 0; i < keep.size(); ++i) keep[i] = (i * 7 + i / 3) % 4 != 0;
           for (int64_t j = 0; j < n; ++j) keep[static_cast<size_t>(j)] = 0;  // mask row 0: nothing kept
           Tensor X = up(d, x), M = Tensor::from_vector(d, {mrows, n}, keep), Y = Tensor::empty(d, {rows, n});
           ops::masked_softmax_forward(st, X, M, Y, {-1, 0.5f});
           expect_close(down(Y).v, softmax(x, 1, 0.5f, keep, mrows).v, 1e-6, 1e-5, "masked_softmax");
         }});
  }
}

void add_layernorm_cases(std::vector<OpCase>& cases) {
  uint32_t seed = 7200;
  for (const Shape& sh : {Shape{1, 1}, Shape{5, 8}, Shape{2, 50, 64}, Shape{3, 4, 256}, Shape{7, 33}}) {
    const uint32_t s = seed += 5;
    const int64_t dim = sh[sh.rank() - 1], rows = sh.numel() / dim;
    cases.push_back({"layernorm_forward/" + sh.str(), &opdesc::layernorm_forward, [=](const Device& d, Stream& st) {
                       const Host x = ref::random(sh, s, -2, 3), g = ref::random({dim}, s + 1, 0.5, 1.5),
                                  b = ref::random({dim}, s + 2);
                       Tensor X = up(d, x), G = up(d, g), B = up(d, b), Y = Tensor::empty(d, sh),
                              M = Tensor::empty(d, {rows}), R = Tensor::empty(d, {rows});
                       ops::layernorm_forward(st, X, G, B, Y, M, R, {1e-5f});
                       const LayerNorm want = layernorm(x, g, b, 1e-5f);
                       expect_close(down(Y).v, want.y.v, 1e-5, 1e-5, "layernorm y");
                       expect_close(down(M).v, want.mean.v, 1e-6, 1e-5, "layernorm mean");
                       expect_close(down(R).v, want.rstd.v, 1e-6, 1e-5, "layernorm rstd");
                     }});
    cases.push_back(
        {"layernorm_backward/" + sh.str(), &opdesc::layernorm_backward, [=](const Device& d, Stream& st) {
           const Host x = ref::random(sh, s, -2, 3), g = ref::random({dim}, s + 1, 0.5, 1.5),
                      dy = ref::random(sh, s + 3);
           const LayerNorm f = layernorm(x, g, zeros_like({dim}), 1e-5f);
           // The reference gradient, in double from the definitions.
           Host dx = zeros_like(sh), dg = zeros_like({dim}), db = zeros_like({dim});
           for (int64_t i = 0; i < rows; ++i) {
             double sg = 0, sgx = 0;
             for (int64_t j = 0; j < dim; ++j) {
               const size_t e = static_cast<size_t>(i * dim + j);
               const double xh = (x.v[e] - double(f.mean.v[static_cast<size_t>(i)])) * f.rstd.v[static_cast<size_t>(i)];
               sg += double(dy.v[e]) * g.v[static_cast<size_t>(j)],
                   sgx += double(dy.v[e]) * g.v[static_cast<size_t>(j)] * xh;
               dg.v[static_cast<size_t>(j)] += static_cast<float>(dy.v[e] * xh),
                   db.v[static_cast<size_t>(j)] += dy.v[e];
             }
             for (int64_t j = 0; j < dim; ++j) {
               const size_t e = static_cast<size_t>(i * dim + j);
               const double xh = (x.v[e] - double(f.mean.v[static_cast<size_t>(i)])) * f.rstd.v[static_cast<size_t>(i)];
               dx.v[e] = static_cast<float>(
                   f.rstd.v[static_cast<size_t>(i)] *
                   (double(dy.v[e]) * g.v[static_cast<size_t>(j)] - sg / double(dim) - xh * sgx / double(dim)));
             }
           }
           Tensor X = up(d, x), DY = up(d, dy), G = up(d, g), M = up(d, f.mean), R = up(d, f.rstd),
                  DX = Tensor::empty(d, sh), DG = Tensor::empty(d, {dim}), DB = Tensor::empty(d, {dim});
           ops::layernorm_backward(st, X, DY, G, M, R, DX, DG, DB);
           expect_close(down(DX).v, dx.v, 2e-5, 1e-4, "layernorm dx");
           expect_close(down(DG).v, dg.v, 1e-4, 1e-4, "layernorm dgamma");
           expect_close(down(DB).v, db.v, 1e-4, 1e-4, "layernorm dbeta");
         }});
  }
}

void add_smooth_activation_cases(std::vector<OpCase>& cases) {
  for (Activation a : {Activation::gelu, Activation::gelu_tanh, Activation::tanh, Activation::sigmoid})
    for (const Shape& sh : {Shape{7}, Shape{3, 50, 64}}) {
      const std::string tag = std::string(activation_name(a)) + "/" + sh.str();
      cases.push_back({"activation_forward/" + tag, &opdesc::activation_forward, [a, sh](const Device& d, Stream& st) {
                         Host x = ref::random(sh, 7300, -6, 6);
                         x.v[0] = -30.0f;  // the tails: exp must not overflow into NaN
                         if (x.v.size() > 1) x.v[1] = 30.0f;
                         Host want = x;
                         for (float& v : want.v) v = static_cast<float>(activation(a, v));
                         Tensor X = up(d, x), Y = Tensor::empty(d, sh);
                         ops::activation_forward(st, X, Y, {a});
                         expect_close(down(Y).v, want.v, 1e-6, 1e-5, "activation_forward");
                       }});
      cases.push_back(
          {"activation_backward/" + tag, &opdesc::activation_backward, [a, sh](const Device& d, Stream& st) {
             const Host x = ref::random(sh, 7301, -6, 6), dy = ref::random(sh, 7302);
             Host want = x;
             for (size_t i = 0; i < x.v.size(); ++i) {  // central difference of the double reference
               const double h = 1e-5, v = x.v[i];
               want.v[i] = static_cast<float>(dy.v[i] * (activation(a, v + h) - activation(a, v - h)) / (2 * h));
             }
             Tensor X = up(d, x), DY = up(d, dy), DX = Tensor::empty(d, sh);
             ops::activation_backward(st, X, DY, DX, {a});
             expect_close(down(DX).v, want.v, 1e-5, 1e-4, "activation_backward");
           }});
    }
}

void add_embedding_cases(std::vector<OpCase>& cases) {
  struct E {
    Shape ids;
    int64_t vocab, width;
  };
  for (const E& e : {E{{5}, 3, 4}, E{{2, 128}, 256, 32}, E{{4, 9}, 1000, 17}}) {
    const std::string tag = e.ids.str() + "_v" + std::to_string(e.vocab) + "_d" + std::to_string(e.width);
    auto ids_of = [e] {  // repeats, so the gradient sums several rows into one
      std::vector<int32_t> v(static_cast<size_t>(e.ids.numel()));
      for (size_t i = 0; i < v.size(); ++i)
        v[i] = static_cast<int32_t>((i * 37 + 11) % static_cast<size_t>(std::min<int64_t>(e.vocab, 13)));
      return v;
    };
    std::vector<int64_t> ys(e.ids.begin(), e.ids.end());
    ys.push_back(e.width);
    const Shape yshape{std::span<const int64_t>(ys)};
    cases.push_back({"embedding_forward/" + tag, &opdesc::embedding_forward, [=](const Device& d, Stream& st) {
                       const std::vector<int32_t> ids = ids_of();
                       const Host table = ref::random({e.vocab, e.width}, 7400);
                       Host want = zeros_like(yshape);
                       for (size_t i = 0; i < ids.size(); ++i)
                         for (int64_t c = 0; c < e.width; ++c)
                           want.v[i * static_cast<size_t>(e.width) + static_cast<size_t>(c)] =
                               table.v[static_cast<size_t>(ids[i] * e.width + c)];
                       Tensor I = Tensor::from_vector(d, e.ids, ids), T = up(d, table), Y = Tensor::empty(d, yshape);
                       ops::embedding_forward(st, I, T, Y);
                       expect_close(down(Y).v, want.v, 0, 0, "embedding_forward");
                       // An id outside the table is refused, naming it, before anything is written.
                       std::vector<int32_t> bad = ids;
                       bad.back() = static_cast<int32_t>(e.vocab);
                       Tensor B = Tensor::from_vector(d, e.ids, bad), Y2 = up(d, want);
                       expect_error(
                           [&] { ops::embedding_forward(st, B, T, Y2); }, ErrorKind::invalid_argument,
                           {"ids[" + std::to_string(bad.size() - 1) + "] = " + std::to_string(e.vocab), "outside"});
                       expect_close(down(Y2).v, want.v, 0, 0, "embedding_forward after a refused call");
                     }});
    cases.push_back({"embedding_backward/" + tag, &opdesc::embedding_backward, [=](const Device& d, Stream& st) {
                       const std::vector<int32_t> ids = ids_of();
                       const Host dy = ref::random(yshape, 7401), start = ref::random({e.vocab, e.width}, 7402);
                       Host want = start;  // accumulated into, row by row in index order
                       for (size_t i = 0; i < ids.size(); ++i)
                         for (int64_t c = 0; c < e.width; ++c)
                           want.v[static_cast<size_t>(ids[i] * e.width + c)] +=
                               dy.v[i * static_cast<size_t>(e.width) + static_cast<size_t>(c)];
                       Tensor I = Tensor::from_vector(d, e.ids, ids), DY = up(d, dy), DT = up(d, start);
                       ops::embedding_backward(st, I, DY, DT);
                       expect_close(down(DT).v, want.v, 0, 0, "embedding_backward (the same order: the same bits)");
                     }});
  }
}

void add_layout_cases(std::vector<OpCase>& cases) {
  struct P {
    Shape x;
    std::vector<int> perm;
  };
  for (const P& c : {P{{2, 3}, {1, 0}}, P{{2, 3, 4}, {2, 0, 1}}, P{{4, 50, 3, 4, 16}, {2, 0, 3, 1, 4}},
                     P{{4, 4, 50, 16}, {0, 2, 1, 3}}, P{{2, 3, 1, 5, 2, 3}, {5, 4, 3, 2, 1, 0}}, P{{7}, {0}}}) {
    PermuteParams p;
    std::vector<int64_t> ys;
    for (size_t i = 0; i < c.perm.size(); ++i) p.perm[i] = static_cast<int8_t>(c.perm[i]), ys.push_back(c.x[c.perm[i]]);
    const Shape yshape{std::span<const int64_t>(ys)};
    std::string tag = c.x.str() + "_perm";
    for (int v : c.perm) tag += std::to_string(v);
    for (DType t : {DType::f32, DType::f16}) {
      cases.push_back(
          {"permute/" + tag + "_" + std::string(dtype_name(t)), &opdesc::permute, [=](const Device& d, Stream& st) {
             const Host x = rounded(ref::random(c.x, 7500), t);
             Host want = zeros_like(yshape);
             for (int64_t i = 0; i < want.numel(); ++i) {
               const std::vector<int64_t> yc = coords(i, yshape);
               std::vector<int64_t> xc(yc.size());
               for (size_t k = 0; k < yc.size(); ++k) xc[static_cast<size_t>(c.perm[k])] = yc[k];
               want.v[static_cast<size_t>(i)] = x.v[static_cast<size_t>(flat(xc, c.x))];
             }
             Tensor X = up(d, x, t), Y = Tensor::empty(d, yshape, t);
             ops::permute(st, X, Y, p);
             expect_close(down(Y).v, want.v, 0, 0, "permute");
           }});
    }
  }
  struct R {
    Shape src, dst;
    RegionParams p;
  };
  for (const R& c :
       {R{{2, 5, 3}, {2, 2, 3}, {1, 3, 0, 2}}, R{{2, 1, 4}, {2, 6, 4}, {1, 0, 5, 1}}, R{{4, 3}, {9, 3}, {0, 0, 5, 4}},
        R{{3, 7}, {3, 10}, {1, 2, 4, 5}}, R{{64, 50, 64}, {64, 1, 64}, {1, 0, 0, 1}}}) {
    const std::string tag = c.src.str() + "_to" + c.dst.str() + "_axis" + std::to_string(c.p.axis);
    for (DType t : {DType::f32, DType::i32}) {
      cases.push_back({"copy_region/" + tag + "_" + std::string(dtype_name(t)), &opdesc::copy_region,
                       [=](const Device& d, Stream& st) {
                         Host src = ref::random(c.src, 7600, -100, 100), dst = ref::random(c.dst, 7601, -100, 100);
                         for (float& v : src.v) v = std::round(v);  // exact as i32 too
                         for (float& v : dst.v) v = std::round(v);
                         Host want = dst;  // positions outside the region keep their values
                         for (int64_t i = 0; i < src.numel(); ++i) {
                           std::vector<int64_t> sc = coords(i, c.src);
                           const int64_t j = sc[static_cast<size_t>(c.p.axis)] - c.p.src_offset;
                           if (j < 0 || j >= c.p.length) continue;
                           sc[static_cast<size_t>(c.p.axis)] = c.p.dst_offset + j;
                           want.v[static_cast<size_t>(flat(sc, c.dst))] = src.v[static_cast<size_t>(i)];
                         }
                         auto upload = [&](const Host& h) {
                           if (t == DType::f32) return up(d, h);
                           std::vector<int32_t> v(h.v.begin(), h.v.end());
                           return Tensor::from_vector(d, h.shape, v);
                         };
                         Tensor S = upload(src), D = upload(dst);
                         ops::copy_region(st, S, D, c.p);
                         std::vector<float> got = t == DType::f32 ? down(D).v : std::vector<float>{};
                         if (t == DType::i32)
                           for (int32_t v : D.to_vector<int32_t>()) got.push_back(static_cast<float>(v));
                         expect_close(got, want.v, 0, 0, "copy_region");
                       }});
    }
  }
}

void add_broadcast_cases(std::vector<OpCase>& cases) {
  struct B {
    Shape a, b, c;
  };
  const std::vector<B> shapes = {B{{2, 3}, {2, 3}, {2, 3}},
                                 B{{4, 50, 64}, {1, 50, 64}, {4, 50, 64}},
                                 B{{4, 1, 64}, {1, 5, 1}, {4, 5, 64}},
                                 B{{3, 1}, {4}, {3, 4}},
                                 B{{1}, {2, 3, 4}, {2, 3, 4}},
                                 B{{2, 1, 3, 1, 2, 1}, {5, 1, 1, 2, 3}, {2, 5, 3, 1, 2, 3}}};
  for (BinaryOp op : {BinaryOp::add, BinaryOp::sub, BinaryOp::mul})
    for (const B& c : shapes) {
      const char* opn = op == BinaryOp::add ? "add" : op == BinaryOp::sub ? "sub" : "mul";
      cases.push_back({"broadcast_binary/" + std::string(opn) + "_" + c.a.str() + "_" + c.b.str(),
                       &opdesc::broadcast_binary, [=](const Device& d, Stream& st) {
                         const Host a = ref::random(c.a, 7700), b = ref::random(c.b, 7701);
                         Host want = zeros_like(c.c);
                         for (int64_t i = 0; i < want.numel(); ++i) {
                           const std::vector<int64_t> cc = coords(i, c.c);
                           const double x = a.v[static_cast<size_t>(broadcast_index(cc, c.a, c.c))],
                                        y = b.v[static_cast<size_t>(broadcast_index(cc, c.b, c.c))];
                           want.v[static_cast<size_t>(i)] = static_cast<float>(op == BinaryOp::add   ? x + y
                                                                               : op == BinaryOp::sub ? x - y
                                                                                                     : x * y);
                         }
                         Tensor A = up(d, a), Bt = up(d, b), C = Tensor::empty(d, c.c);
                         ops::broadcast_binary(st, A, Bt, C, {op});
                         expect_close(down(C).v, want.v, 0, 0, "broadcast_binary");
                       }});
    }
  for (const B& c : shapes) {
    cases.push_back({"sum_to/" + c.c.str() + "_to" + c.b.str(), &opdesc::sum_to, [=](const Device& d, Stream& st) {
                       const Host x = ref::random(c.c, 7702);
                       Host want = zeros_like(c.b);
                       std::vector<double> acc(static_cast<size_t>(c.b.numel()), 0.0);
                       for (int64_t i = 0; i < x.numel(); ++i)
                         acc[static_cast<size_t>(broadcast_index(coords(i, c.c), c.b, c.c))] +=
                             x.v[static_cast<size_t>(i)];
                       for (size_t i = 0; i < acc.size(); ++i) want.v[i] = static_cast<float>(acc[i]);
                       Tensor X = up(d, x), Y = Tensor::empty(d, c.b);
                       ops::sum_to(st, X, Y);
                       expect_close(down(Y).v, want.v, 1e-5, 1e-5, "sum_to");
                     }});
  }
}

// Attention from its definition, in double: per query row the softmax of scale·q·kᵀ, then the
// values weighed by it; the gradients from the chain rule through those steps (dp = do·vᵀ,
// ds = p ⊙ (dp − Σ p ⊙ dp), dq = scale·ds·k, dk = scale·dsᵀ·q, dv = pᵀ·do).
struct AttentionRef {
  Host o, dq, dk, dv;
};
AttentionRef attention_ref(const Host& q, const Host& k, const Host& v, const Host& dout, float scale) {
  const int64_t B = q.shape[0], tq = q.shape[1], tk = k.shape[1], d = q.shape[2];
  AttentionRef r{zeros_like(q.shape), zeros_like(q.shape), zeros_like(k.shape), zeros_like(k.shape)};
  auto at = [](const Host& h, int64_t b, int64_t i, int64_t c, int64_t t, int64_t w) {
    return double(h.v[static_cast<size_t>((b * t + i) * w + c)]);
  };
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < tq; ++i) {
      std::vector<double> p(static_cast<size_t>(tk)), dp(p.size());
      double mx = -INFINITY, sum = 0, pdp = 0;
      for (int64_t j = 0; j < tk; ++j) {
        double sc = 0;
        for (int64_t c = 0; c < d; ++c) sc += at(q, b, i, c, tq, d) * at(k, b, j, c, tk, d);
        p[static_cast<size_t>(j)] = scale * sc, mx = std::max(mx, scale * sc);
      }
      for (double& x : p) sum += x = std::exp(x - mx);
      for (int64_t j = 0; j < tk; ++j) {
        const double pj = p[static_cast<size_t>(j)] /= sum;
        double g = 0;
        for (int64_t c = 0; c < d; ++c) {
          r.o.v[static_cast<size_t>((b * tq + i) * d + c)] += static_cast<float>(pj * at(v, b, j, c, tk, d));
          g += at(dout, b, i, c, tq, d) * at(v, b, j, c, tk, d);
          r.dv.v[static_cast<size_t>((b * tk + j) * d + c)] += static_cast<float>(pj * at(dout, b, i, c, tq, d));
        }
        dp[static_cast<size_t>(j)] = g, pdp += pj * g;
      }
      for (int64_t j = 0; j < tk; ++j) {
        const double ds = scale * p[static_cast<size_t>(j)] * (dp[static_cast<size_t>(j)] - pdp);
        for (int64_t c = 0; c < d; ++c) {
          r.dq.v[static_cast<size_t>((b * tq + i) * d + c)] += static_cast<float>(ds * at(k, b, j, c, tk, d));
          r.dk.v[static_cast<size_t>((b * tk + j) * d + c)] += static_cast<float>(ds * at(q, b, i, c, tq, d));
        }
      }
    }
  return r;
}

void add_attention_cases(std::vector<OpCase>& cases) {
  struct A {
    int64_t b, tq, tk, d;
    float scale;
  };
  uint32_t seed = 7700;
  for (A a : {A{1, 1, 1, 1, 1.0f}, A{3, 5, 7, 4, 0.5f}, A{8, 50, 50, 16, 0.25f}, A{2, 17, 33, 64, 0.125f},
              A{4, 3, 129, 8, 2.0f}}) {
    const std::string tag = std::to_string(a.b) + "x" + std::to_string(a.tq) + "x" + std::to_string(a.tk) + "x" +
                            std::to_string(a.d);
    const uint32_t s = seed;
    seed += 4;
    cases.push_back({"attention_forward/" + tag, &opdesc::attention_forward, [a, s](const Device& d, Stream& st) {
                       const Host q = ref::random({a.b, a.tq, a.d}, s), k = ref::random({a.b, a.tk, a.d}, s + 1),
                                  v = ref::random({a.b, a.tk, a.d}, s + 2);
                       Tensor O = Tensor::empty(d, q.shape);
                       ops::attention_forward(st, up(d, q), up(d, k), up(d, v), O, {a.scale});
                       expect_close(down(O).v, attention_ref(q, k, v, q, a.scale).o.v, 1e-5, 1e-4, "attention");
                     }});
    cases.push_back({"attention_backward/" + tag, &opdesc::attention_backward, [a, s](const Device& d, Stream& st) {
                       const Host q = ref::random({a.b, a.tq, a.d}, s), k = ref::random({a.b, a.tk, a.d}, s + 1),
                                  v = ref::random({a.b, a.tk, a.d}, s + 2), g = ref::random(q.shape, s + 3);
                       const AttentionRef want = attention_ref(q, k, v, g, a.scale);
                       Tensor dQ = Tensor::empty(d, q.shape), dK = Tensor::empty(d, k.shape), dV = Tensor::empty(d, k.shape);
                       ops::attention_backward(st, up(d, q), up(d, k), up(d, v), up(d, want.o), up(d, g), dQ, dK, dV,
                                               {a.scale});
                       expect_close(down(dQ).v, want.dq.v, 1e-5, 1e-4, "attention dq");
                       expect_close(down(dK).v, want.dk.v, 1e-5, 1e-4, "attention dk");
                       expect_close(down(dV).v, want.dv.v, 1e-5, 1e-4, "attention dv");
                     }});
  }
}

}  // namespace

void add_transformer_cases(std::vector<OpCase>& cases) {
  add_attention_cases(cases);
  add_gemm_batched_cases(cases);
  add_softmax_cases(cases);
  add_layernorm_cases(cases);
  add_smooth_activation_cases(cases);
  add_embedding_cases(cases);
  add_layout_cases(cases);
  add_broadcast_cases(cases);
}

}  // namespace tandem::test
