// The compression primitives on every device against references written here: bit-exact
// where the op is exact (quantize, packing, sampling, compaction), within rounding otherwise.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "cases.h"
#include "tandem/numeric/bitpack.h"

namespace tandem::test {
namespace {

// The bits of fields q[i] + offset, each `width` bits, least significant first.
std::vector<uint8_t> packed(const std::vector<int8_t>& q, int width, int offset) {
  std::vector<uint8_t> out(static_cast<size_t>(numeric::packed_bytes(int64_t(q.size()), width)), 0);
  for (size_t i = 0; i < q.size(); ++i)
    for (int b = 0; b < width; ++b)
      if (((q[i] + offset) >> b) & 1) out[(i * width + b) / 8] |= static_cast<uint8_t>(1u << ((i * width + b) % 8));
  return out;
}

// Values with many exact ties in magnitude: multiples of 1/8 in [-2, 2].
ref::Host tied(int64_t n, uint32_t seed) {
  ref::Host x = ref::random({n}, seed, -2, 2);
  for (float& v : x.v) v = std::round(v * 8) / 8;
  return x;
}

// Reference compaction: |x| > t, then ties in index order while fewer than limit are selected.
std::vector<int32_t> selected(const std::vector<float>& x, float t, int64_t limit) {
  int64_t greater = 0;
  for (float v : x) greater += std::fabs(v) > t;
  int64_t ties = std::max<int64_t>(0, limit - greater);
  std::vector<int32_t> out;
  for (size_t i = 0; i < x.size(); ++i) {
    const float m = std::fabs(x[i]);
    if (m > t || (m == t && ties-- > 0)) out.push_back(static_cast<int32_t>(i));
  }
  return out;
}

void add_sparse_cases(std::vector<OpCase>& cases) {
  for (int64_t n : {int64_t{1}, int64_t{1000}, int64_t{200003}})
    for (int64_t k : {int64_t{1}, int64_t{7}, int64_t{1000}}) {
      if (k > n) continue;
      const std::string suffix = "/" + std::to_string(n) + "_k" + std::to_string(k);
      for (const bool scaled : {false, true})
        cases.push_back(
            {"sample" + suffix + (scaled ? "_scaled" : ""), &opdesc::sample, [=](const Device& d, Stream& st) {
               const ref::Host x = ref::random({n}, 91);
               const SampleParams p{{7, 2, 1, 1000}, scaled};
               Tensor X = up(d, x), I = Tensor::empty(d, {k}, DType::i32), V = Tensor::empty(d, {k});
               ops::sample(st, X, I, V, p);
               std::vector<int32_t> idx(static_cast<size_t>(k));
               std::vector<float> val(static_cast<size_t>(k));
               for (int64_t j = 0; j < k; ++j) {
                 const int64_t start = j * n / k, size = (j + 1) * n / k - start;
                 idx[j] = static_cast<int32_t>(
                     start + int64_t((uint64_t{numeric::random_u32(p.key, uint64_t(j))} * uint64_t(size)) >> 32));
                 val[j] = x.v[idx[j]] * (scaled ? float(size) : 1.0f);
               }
               EXPECT_EQ(I.to_vector<int32_t>(), idx) << "sample indices";
               expect_close(down(V).v, val, 0, 0, "sample values");
             }});
      cases.push_back({"kth_magnitude" + suffix, &opdesc::kth_magnitude, [=](const Device& d, Stream& st) {
                         const ref::Host x = tied(n, 92);
                         Tensor X = up(d, x), T = Tensor::empty(d, {1});
                         ops::kth_magnitude(st, X, T, {k});
                         std::vector<float> mag(x.v.size());
                         for (size_t i = 0; i < mag.size(); ++i) mag[i] = std::fabs(x.v[i]);
                         std::sort(mag.begin(), mag.end(), std::greater<float>());
                         expect_close(down(T).v, {mag[k - 1]}, 0, 0, "kth_magnitude");
                       }});
      // Exact top-k (limit k through ties), everything at or above, and a short capacity.
      for (const int mode : {0, 1, 2})
        cases.push_back({"compact" + suffix +
                             (mode == 0   ? "_limit_k"
                              : mode == 1 ? "_no_limit"
                                          : "_short_capacity"),
                         &opdesc::compact, [=](const Device& d, Stream& st) {
                           const ref::Host x = tied(n, 93);
                           std::vector<float> mag(x.v.size());
                           for (size_t i = 0; i < mag.size(); ++i) mag[i] = std::fabs(x.v[i]);
                           std::nth_element(mag.begin(), mag.begin() + (k - 1), mag.end(), std::greater<float>());
                           const float t = mag[k - 1];
                           const int64_t limit = mode == 0 ? k : INT64_MAX;
                           const std::vector<int32_t> want = selected(x.v, t, limit);
                           const int64_t cap = mode == 2 ? std::max<int64_t>(1, int64_t(want.size()) / 2) : n;
                           Tensor X = up(d, x), T = Tensor::from_vector(d, {1}, std::vector<float>{t});
                           Tensor I = Tensor::empty(d, {cap}, DType::i32), V = Tensor::empty(d, {cap}),
                                  C = Tensor::empty(d, {1}, DType::i32);
                           ops::compact(st, X, T, I, V, C, {limit});
                           ASSERT_EQ(C.to_vector<int32_t>()[0], int32_t(want.size())) << "count";
                           if (mode == 0) {
                             ASSERT_EQ(int64_t(want.size()), k) << "exact top-k selects k";
                           }
                           const size_t written = std::min<size_t>(want.size(), size_t(cap));
                           const std::vector<int32_t> got = I.to_vector<int32_t>();
                           const std::vector<float> vals = V.to_f32();
                           for (size_t j = 0; j < written; ++j) {
                             ASSERT_EQ(got[j], want[j]) << "index " << j;
                             ASSERT_EQ(vals[j], x.v[want[j]]) << "value " << j;
                           }
                         }});
    }
  // Large enough for the CPU kernel's sampled bracket (and k beyond it: the full fallback).
  for (int64_t k : {int64_t{1}, int64_t{20000}, int64_t{400000}})
    cases.push_back(
        {"kth_magnitude/2000003_k" + std::to_string(k), &opdesc::kth_magnitude, [=](const Device& d, Stream& st) {
           const int64_t n = 2000003;
           ref::Host x = ref::random({n}, 97, -1, 1);
           for (int64_t i = 0; i < n; i += 3) x.v[i] = std::round(x.v[i] * 64) / 64;  // ties
           Tensor X = up(d, x), T = Tensor::empty(d, {1});
           ops::kth_magnitude(st, X, T, {k});
           std::vector<float> mag(x.v.size());
           for (size_t i = 0; i < mag.size(); ++i) mag[i] = std::fabs(x.v[i]);
           std::nth_element(mag.begin(), mag.begin() + (k - 1), mag.end(), std::greater<float>());
           expect_close(down(T).v, {mag[k - 1]}, 0, 0, "kth_magnitude");
         }});
  cases.push_back({"scatter_add/repeats", &opdesc::scatter_add, [](const Device& d, Stream& st) {
                     const int64_t n = 5000;
                     const ref::Host y = ref::random({n}, 94), val = ref::random({300}, 95);
                     std::vector<int32_t> idx(300);
                     for (size_t j = 0; j < idx.size(); ++j) idx[j] = static_cast<int32_t>((j * 7919) % 250);
                     Tensor Y = up(d, y), I = up_i32(d, {300}, idx), V = up(d, val);
                     ops::scatter_add(st, I, V, Y);
                     ref::Host want = y;
                     for (size_t j = 0; j < idx.size(); ++j) want.v[idx[j]] += val.v[j];
                     expect_close(down(Y).v, want.v, 1e-6, 1e-6, "scatter_add");
                     const Tensor bad = up_i32(d, {1}, {static_cast<int32_t>(n)});
                     expect_error([&] { ops::scatter_add(st, bad, Tensor::zeros(d, {1}), Y); },
                                  {"idx[0] = 5000 is outside [0, 5000)"});
                   }});
  for (int64_t n : {int64_t{3}, int64_t{70001}})
    cases.push_back({"random_fill/" + std::to_string(n), &opdesc::random_fill, [=](const Device& d, Stream& st) {
                       const RandomFillParams p{{11, 0, 0, 5}, -3.0f, 1.0f};
                       Tensor Y = Tensor::empty(d, {n});
                       ops::random_fill(st, Y, p);
                       std::vector<float> want(static_cast<size_t>(n));
                       for (int64_t i = 0; i < n; ++i) want[i] = -3.0f + 4.0f * numeric::random_uniform(p.key, i);
                       expect_close(down(Y).v, want, 0, 0, "random_fill");
                     }});
  for (const auto& [m, r] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {50, 4}, {300, 16}, {3, 5}})
    cases.push_back({"orthonormalize/" + std::to_string(m) + "x" + std::to_string(r), &opdesc::orthonormalize,
                     [m = m, r = r](const Device& d, Stream& st) {  // named: clang 14 captures no bindings
                       ref::Host a = ref::random({m, r}, 96);
                       // Column 2 depends on columns 0 and 1: it must come out zero.
                       if (r > 2 && m > 2)
                         for (int64_t i = 0; i < m; ++i) a.v[i * r + 2] = a.v[i * r] - 2 * a.v[i * r + 1];
                       Tensor A = up(d, a);
                       ops::orthonormalize(st, A);
                       const std::vector<float> q = down(A).v;
                       const int64_t dependent = r > 2 && m > 2 ? 2 : -1;
                       const int64_t independent = std::min(m, r - (dependent >= 0 ? 1 : 0));  // the rank of a
                       int64_t nonzero = 0;
                       for (int64_t i = 0; i < r; ++i)
                         for (int64_t j = 0; j < r; ++j) {
                           double dot = 0;
                           for (int64_t row = 0; row < m; ++row) dot += double(q[row * r + i]) * q[row * r + j];
                           if (i == j && dot > 0.5) ++nonzero;
                           const double want = i == j && dot > 0.5 ? 1.0 : 0.0;
                           ASSERT_NEAR(dot, want, 1e-5) << "column " << i << " · column " << j;
                         }
                       EXPECT_EQ(nonzero, independent) << "every independent column stays, dependent ones vanish";
                       if (dependent >= 0) {
                         for (int64_t row = 0; row < m; ++row) ASSERT_EQ(q[row * r + dependent], 0.0f);
                       }
                       // Gram–Schmidt normalizes the first column in place: same direction.
                       double proj = 0, norm = 0;
                       for (int64_t row = 0; row < m; ++row) norm += double(a.v[row * r]) * a.v[row * r];
                       for (int64_t row = 0; row < m; ++row) proj += double(a.v[row * r]) * q[row * r];
                       EXPECT_NEAR(proj, std::sqrt(norm), 1e-4 * std::sqrt(norm)) << "column 0 keeps its direction";
                     }});
}

}  // namespace

void add_codec_primitive_cases(std::vector<OpCase>& cases) {
  add_sparse_cases(cases);
  for (int width : {1, 2, 3, 4, 7, 8})
    for (int64_t n : {int64_t{1}, int64_t{13}, int64_t{70001}}) {
      const std::string suffix = "/w" + std::to_string(width) + "_" + std::to_string(n);
      const int offset = (1 << width) / 2;
      auto levels = [=] {
        std::vector<int8_t> q(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) q[i] = static_cast<int8_t>((i * 2654435761u >> 7) % (1u << width) - offset);
        return q;
      };
      cases.push_back({"pack_bits" + suffix, &opdesc::pack_bits, [=](const Device& d, Stream& st) {
                         const std::vector<int8_t> q = levels();
                         Tensor Q = Tensor::from_vector(d, {n}, q),
                                B = Tensor::empty(d, {numeric::packed_bytes(n, width)}, DType::u8);
                         ops::pack_bits(st, Q, B, {width, offset});
                         EXPECT_EQ(B.to_vector<uint8_t>(), packed(q, width, offset)) << "pack_bits";
                       }});
      cases.push_back({"unpack_bits" + suffix, &opdesc::unpack_bits, [=](const Device& d, Stream& st) {
                         const std::vector<int8_t> q = levels();
                         const std::vector<uint8_t> bits = packed(q, width, offset);
                         Tensor B = Tensor::from_vector(d, {int64_t(bits.size())}, bits),
                                Q = Tensor::empty(d, {n}, DType::i8);
                         ops::unpack_bits(st, B, Q, {width, offset});
                         EXPECT_EQ(Q.to_vector<int8_t>(), q) << "unpack_bits";
                       }});
    }

  for (int64_t n : {int64_t{1}, int64_t{1000}, int64_t{70001}})
    for (int64_t chunk : {int64_t{1}, int64_t{256}, int64_t{1000}}) {
      const std::string suffix = "/" + std::to_string(n) + "_chunk" + std::to_string(chunk);
      const int64_t nc = (n + chunk - 1) / chunk;
      cases.push_back({"chunk_absmax" + suffix, &opdesc::chunk_absmax, [=](const Device& d, Stream& st) {
                         const ref::Host x = ref::random({n}, 71, -3, 3);
                         Tensor X = up(d, x), S = Tensor::empty(d, {nc});
                         ops::chunk_absmax(st, X, S, {chunk});
                         std::vector<float> want(static_cast<size_t>(nc), 0.0f);
                         for (int64_t i = 0; i < n; ++i) want[i / chunk] = std::max(want[i / chunk], std::fabs(x.v[i]));
                         expect_close(down(S).v, want, 0, 0, "chunk_absmax");
                       }});
      cases.push_back({"chunk_norm2" + suffix, &opdesc::chunk_norm2, [=](const Device& d, Stream& st) {
                         const ref::Host x = ref::random({n}, 72, -3, 3);
                         Tensor X = up(d, x), S = Tensor::empty(d, {nc});
                         ops::chunk_norm2(st, X, S, {chunk});
                         std::vector<double> sq(static_cast<size_t>(nc), 0.0);
                         for (int64_t i = 0; i < n; ++i) sq[i / chunk] += double(x.v[i]) * x.v[i];
                         std::vector<float> want(sq.size());
                         for (size_t c = 0; c < sq.size(); ++c) want[c] = static_cast<float>(std::sqrt(sq[c]));
                         expect_close(down(S).v, want, 1e-6, 1e-6, "chunk_norm2");
                       }});
      cases.push_back({"chunk_absmean" + suffix, &opdesc::chunk_absmean, [=](const Device& d, Stream& st) {
                         const ref::Host x = ref::random({n}, 76, -3, 3);
                         Tensor X = up(d, x), S = Tensor::empty(d, {nc});
                         ops::chunk_absmean(st, X, S, {chunk});
                         std::vector<double> sum(static_cast<size_t>(nc), 0.0);
                         for (int64_t i = 0; i < n; ++i) sum[i / chunk] += std::fabs(x.v[i]);
                         std::vector<float> want(sum.size());
                         for (size_t c = 0; c < sum.size(); ++c)
                           want[c] = static_cast<float>(sum[c] / double(std::min(chunk, n - int64_t(c) * chunk)));
                         expect_close(down(S).v, want, 1e-6, 1e-6, "chunk_absmean");
                       }});
      // x with -0 first (it counts as non-negative) and the bits a correct packing gives.
      auto signs = [n] {
        ref::Host x = ref::random({n}, 77, -1, 1);
        x.v[0] = -0.0f;
        std::vector<uint8_t> bits(static_cast<size_t>((n + 7) / 8), 0);
        for (int64_t i = 0; i < n; ++i)
          if (x.v[i] >= 0) bits[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
        return std::pair{x, bits};
      };
      cases.push_back({"sign_pack" + suffix, &opdesc::sign_pack, [=](const Device& d, Stream& st) {
                         const auto [x, bits] = signs();
                         Tensor X = up(d, x), U = Tensor::empty(d, {nc}),
                                B = Tensor::empty(d, {(n + 7) / 8}, DType::u8);
                         ops::sign_pack(st, X, U, B, {chunk});
                         EXPECT_EQ(B.to_vector<uint8_t>(), bits) << "sign_pack";
                         std::vector<double> sum(static_cast<size_t>(nc), 0.0);
                         for (int64_t i = 0; i < n; ++i) sum[i / chunk] += std::fabs(x.v[i]);
                         std::vector<float> want(sum.size());
                         for (size_t c = 0; c < sum.size(); ++c)
                           want[c] = static_cast<float>(sum[c] / double(std::min(chunk, n - int64_t(c) * chunk)));
                         expect_close(down(U).v, want, 1e-6, 1e-6, "sign_pack unit");
                       }});
      cases.push_back({"sign_unpack" + suffix, &opdesc::sign_unpack, [=](const Device& d, Stream& st) {
                         const auto [x, bits] = signs();
                         const ref::Host unit = ref::random({nc}, 78, 0.1f, 1.0f);
                         Tensor B = Tensor::from_vector(d, {(n + 7) / 8}, bits), U = up(d, unit),
                                Y = Tensor::empty(d, {n});
                         ops::sign_unpack(st, B, U, Y, {chunk});
                         std::vector<float> want(static_cast<size_t>(n));
                         for (int64_t i = 0; i < n; ++i) want[i] = x.v[i] >= 0 ? unit.v[i / chunk] : -unit.v[i / chunk];
                         expect_close(down(Y).v, want, 0, 0, "sign_unpack");
                       }});
    }
  for (const bool stochastic : {true, false})
    for (int levels : {1, 127})
      for (QuantScale scale : {QuantScale::absmax, QuantScale::norm2}) {
        const std::string name = std::string(stochastic ? "stochastic" : "nearest") + "_levels" +
                                 std::to_string(levels) + (scale == QuantScale::absmax ? "_absmax" : "_norm2");
        const int64_t n = 5000, chunk = 256, nc = (n + chunk - 1) / chunk;
        const QuantizeParams p{chunk, levels, scale, stochastic, {0x1234567890ull, 3, 1, 77}};
        cases.push_back({"quantize/" + name, &opdesc::quantize, [=](const Device& d, Stream& st) {
                           ref::Host x = ref::random({n}, 73, -2, 2);
                           for (int64_t i = 2 * chunk; i < 3 * chunk; ++i) x.v[i] = 0.0f;  // unit 0: q = 0
                           Tensor X = up(d, x), U = Tensor::empty(d, {nc}), Q = Tensor::empty(d, {n}, DType::i8);
                           ops::quantize(st, X, U, Q, p);
                           std::vector<float> unit(static_cast<size_t>(nc));
                           for (int64_t c = 0; c < nc; ++c) {
                             double m = 0;
                             for (int64_t i = c * chunk; i < std::min(n, (c + 1) * chunk); ++i)
                               m = scale == QuantScale::absmax ? std::max(m, double(std::fabs(x.v[i])))
                                                               : m + double(x.v[i]) * x.v[i];
                             unit[c] = static_cast<float>(scale == QuantScale::absmax ? m : std::sqrt(m)) / levels;
                           }
                           expect_close(down(U).v, unit, 0, 1e-6, "quantize unit");
                           const std::vector<float> got_unit = down(U).v;  // levels must follow the device's unit
                           std::vector<int8_t> want(static_cast<size_t>(n));
                           for (int64_t i = 0; i < n; ++i) {
                             const float u = got_unit[i / chunk];
                             if (!(u > 0)) continue;
                             const float v = x.v[i] / u, lo = std::floor(v);
                             const float r = stochastic
                                                 ? lo + (numeric::random_uniform(p.key, i) < v - lo ? 1.f : 0.f)
                                                 : std::nearbyint(v);
                             want[i] = static_cast<int8_t>(std::clamp(r, float(-levels), float(levels)));
                           }
                           EXPECT_EQ(Q.to_vector<int8_t>(), want) << "quantize must match the reference bit for bit";
                         }});
      }
  cases.push_back({"dequantize/5000_chunk256", &opdesc::dequantize, [](const Device& d, Stream& st) {
                     const int64_t n = 5000, chunk = 256, nc = (n + chunk - 1) / chunk;
                     std::vector<int8_t> q(static_cast<size_t>(n));
                     for (int64_t i = 0; i < n; ++i) q[i] = static_cast<int8_t>((i * 37) % 255 - 127);
                     const ref::Host unit = ref::random({nc}, 75, 0.01f, 0.05f);
                     Tensor Q = Tensor::from_vector(d, {n}, q), U = up(d, unit), Y = Tensor::empty(d, {n});
                     ops::dequantize(st, Q, U, Y, {chunk});
                     std::vector<float> want(static_cast<size_t>(n));
                     for (int64_t i = 0; i < n; ++i) want[i] = static_cast<float>(q[i]) * unit.v[i / chunk];
                     expect_close(down(Y).v, want, 0, 0, "dequantize");
                   }});
}

}  // namespace tandem::test
