// C simulation: every HLS core against the CPU backend's op on the same inputs — bit-identical
// where the op is exact (element-wise, reductions in the CPU's order, Philox-keyed rounding,
// selection), within f32 tolerance for the products (GEMM, convolution: summation order).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "../ops/harness.h"
#include "cores.h"
#include "tandem/compression/feedback.h"

namespace tandem {
namespace {

Device cpu() { return cpu_device(); }

std::vector<float> normal(size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}

Tensor tensor(const Shape& s, const std::vector<float>& v) { return Tensor::from_vector(cpu(), s, v); }

// Bit patterns: equal floats, NaN payloads and signed zeros included.
std::vector<uint32_t> bit_pattern(const std::vector<float>& v) {
  std::vector<uint32_t> out(v.size());
  std::memcpy(out.data(), v.data(), v.size() * 4);
  return out;
}

template <class T>
std::vector<T> host(const Tensor& t) {
  return t.to_vector<T>();
}

TEST(HlsCores, GemmMatchesTheCpuOnEveryLayout) {
  Stream s(cpu());
  struct Case {
    int m, n, k;
    bool ta, tb;
    float alpha, beta;
  };
  for (const Case& c : {Case{1, 1, 1, false, false, 1, 0}, Case{64, 32, 64, false, false, 1, 0},
                        Case{70, 45, 130, false, false, 0.5f, 0}, Case{33, 65, 17, true, false, 1, 1},
                        Case{100, 10, 784, false, true, 1, 0.25f}, Case{5, 77, 3, true, true, -2, 0.5f}}) {
    const std::string what = "m" + std::to_string(c.m) + " n" + std::to_string(c.n) + " k" + std::to_string(c.k) +
                             (c.ta ? " aT" : "") + (c.tb ? " bT" : "");
    const Shape sa = c.ta ? Shape{c.k, c.m} : Shape{c.m, c.k}, sb = c.tb ? Shape{c.n, c.k} : Shape{c.k, c.n};
    const auto a = normal(static_cast<size_t>(c.m * c.k), 1), b = normal(static_cast<size_t>(c.k * c.n), 2);
    std::vector<float> c0 = normal(static_cast<size_t>(c.m * c.n), 3);
    if (c.beta == 0) c0[0] = std::numeric_limits<float>::quiet_NaN();  // beta = 0 must not read c
    Tensor want = tensor({c.m, c.n}, c0);
    ops::gemm(s, tensor(sa, a), tensor(sb, b), want, {c.ta, c.tb, c.alpha, c.beta});
    std::vector<float> got = c0;
    tandem_gemm(a.data(), b.data(), got.data(), c.m, c.n, c.k, c.ta, c.tb, c.alpha, c.beta);
    test::expect_close(got, want.to_f32(), 1e-5, 1e-4, what);
  }
}

// The batched core: each matrix of the batch as the CPU's gemm_batched computes it.
TEST(HlsCores, BatchedGemmMatchesTheCpu) {
  Stream s(cpu());
  struct Case {
    int batch, m, n, k;
    bool ta, tb;
    float alpha, beta;
  };
  for (const Case& c : {Case{1, 1, 1, 1, false, false, 1, 0}, Case{8, 50, 50, 16, false, true, 0.25f, 0},
                        Case{8, 50, 16, 50, false, false, 1, 0}, Case{3, 33, 17, 70, true, false, 1, 0.5f},
                        Case{2, 5, 77, 3, true, true, -2, 1}}) {
    const std::string what = "batch " + std::to_string(c.batch) + " m" + std::to_string(c.m) + " n" + std::to_string(c.n) +
                             " k" + std::to_string(c.k) + (c.ta ? " aT" : "") + (c.tb ? " bT" : "");
    const Shape sa = c.ta ? Shape{c.batch, c.k, c.m} : Shape{c.batch, c.m, c.k};
    const Shape sb = c.tb ? Shape{c.batch, c.n, c.k} : Shape{c.batch, c.k, c.n};
    const auto a = normal(static_cast<size_t>(sa.numel()), 11), b = normal(static_cast<size_t>(sb.numel()), 12);
    std::vector<float> c0 = normal(static_cast<size_t>(c.batch * c.m * c.n), 13);
    if (c.beta == 0) c0.back() = std::numeric_limits<float>::quiet_NaN();  // beta = 0 must not read c
    Tensor want = tensor({c.batch, c.m, c.n}, c0);
    ops::gemm_batched(s, tensor(sa, a), tensor(sb, b), want, {c.ta, c.tb, c.alpha, c.beta});
    std::vector<float> got = c0;
    tandem_gemm_batched(a.data(), b.data(), got.data(), c.batch, c.m, c.n, c.k, c.ta, c.tb, c.alpha, c.beta);
    test::expect_close(got, want.to_f32(), 1e-5, 1e-4, what);
  }
}

TEST(HlsCores, ConvolutionMatchesTheCpu) {
  Stream s(cpu());
  struct Case {
    int n, c, h, w, k, r, sh, ph;
  };
  for (const Case& c : {Case{2, 1, 28, 28, 16, 5, 1, 2}, Case{1, 16, 14, 14, 32, 3, 1, 1},
                        Case{2, 3, 9, 11, 5, 3, 2, 0}, Case{1, 70, 4, 4, 66, 1, 1, 0}}) {
    const int p = (c.h + 2 * c.ph - c.r) / c.sh + 1, q = (c.w + 2 * c.ph - c.r) / c.sh + 1;
    const auto x = normal(static_cast<size_t>(c.n * c.c * c.h * c.w), 4);
    const auto wt = normal(static_cast<size_t>(c.k * c.c * c.r * c.r), 5, 0.2f);
    Tensor want = Tensor::empty(cpu(), {c.n, c.k, p, q});
    ops::conv2d_forward(s, tensor({c.n, c.c, c.h, c.w}, x), tensor({c.k, c.c, c.r, c.r}, wt), want,
                        {c.sh, c.sh, c.ph, c.ph});
    std::vector<float> got(static_cast<size_t>(want.numel()));
    tandem_conv2d_forward(x.data(), wt.data(), got.data(), c.n, c.c, c.h, c.w, c.k, c.r, c.r, c.sh, c.sh, c.ph, c.ph);
    test::expect_close(got, want.to_f32(), 1e-5, 1e-4, "conv c" + std::to_string(c.c) + " k" + std::to_string(c.k));
  }
}

TEST(HlsCores, BiasReluPoolIsBitIdenticalToTheThreeOps) {
  Stream s(cpu());
  for (int pool : {2, 3}) {
    const int n = 2, c = 3, h = 9, w = 8, stride = 2;
    std::vector<float> x = normal(static_cast<size_t>(n * c * h * w), 6);
    for (size_t i = 0; i < x.size(); i += 7) x[i] = -1.0f;  // ties at zero after ReLU
    const auto b = normal(3, 7, 0.1f);
    Tensor y = tensor({n, c, h, w}, x);
    ops::bias_add(s, y, tensor({c}, b));
    ops::relu_forward(s, y, y);
    const int ph = (h - pool) / stride + 1, pw = (w - pool) / stride + 1;
    Tensor want = Tensor::empty(cpu(), {n, c, ph, pw}), want_idx = Tensor::empty(cpu(), {n, c, ph, pw}, DType::i32);
    ops::maxpool2d_forward(s, y, want, want_idx, {pool, stride});
    std::vector<float> got(static_cast<size_t>(want.numel()));
    std::vector<int> idx(got.size());
    tandem_bias_relu_pool(x.data(), b.data(), got.data(), idx.data(), n, c, h, w, pool, stride);
    EXPECT_EQ(bit_pattern(got), bit_pattern(want.to_f32())) << "pool " << pool;
    EXPECT_EQ(idx, host<int32_t>(want_idx)) << "pool " << pool;
  }
}

TEST(HlsCores, ChunkAbsmaxIsBitIdentical) {
  Stream s(cpu());
  std::vector<float> x = normal(1000, 8);
  x[3] = std::numeric_limits<float>::quiet_NaN();
  x[700] = -std::numeric_limits<float>::infinity();
  for (int chunk : {1, 64, 256, 999}) {
    Tensor want = Tensor::empty(cpu(), {(1000 + chunk - 1) / chunk});
    ops::chunk_absmax(s, tensor({1000}, x), want, {chunk});
    std::vector<float> got(static_cast<size_t>(want.numel()));
    tandem_chunk_absmax(x.data(), got.data(), 1000, chunk);
    EXPECT_EQ(bit_pattern(got), bit_pattern(want.to_f32())) << "chunk " << chunk;
  }
}

TEST(HlsCores, QuantizeIsBitIdenticalForEveryScaleAndRounding) {
  Stream s(cpu());
  const int n = 1234;
  std::vector<float> x = normal(n, 9);
  for (int i = 256; i < 512; ++i) x[static_cast<size_t>(i)] = 0.0f;  // a chunk of zeros: unit 0, q 0
  for (QuantScale scale : {QuantScale::absmax, QuantScale::norm2})
    for (bool stochastic : {false, true})
      for (int levels : {127, 8, 1}) {
        const QuantizeParams p{256, levels, scale, stochastic, {42, 7, 3, 4097}};  // odd offset: unaligned blocks
        Tensor unit = Tensor::empty(cpu(), {(n + 255) / 256}), q = Tensor::empty(cpu(), {n}, DType::i8);
        ops::quantize(s, tensor({n}, x), unit, q, p);
        std::vector<float> got_unit(static_cast<size_t>(unit.numel()));
        std::vector<int8_t> got_q(static_cast<size_t>(n));
        tandem_quantize(x.data(), got_unit.data(), got_q.data(), n, 256, levels, scale == QuantScale::norm2, stochastic,
                        p.key.seed, p.key.step, p.key.rank, p.key.offset);
        const std::string what = std::string(scale == QuantScale::norm2 ? "norm2" : "absmax") +
                                 (stochastic ? " stochastic" : " nearest") + " levels " + std::to_string(levels);
        EXPECT_EQ(bit_pattern(got_unit), bit_pattern(unit.to_f32())) << what;
        EXPECT_EQ(got_q, host<int8_t>(q)) << what;
      }
}

TEST(HlsCores, SignPackIsBitIdentical) {
  Stream s(cpu());
  for (int n : {1, 8, 1001}) {
    std::vector<float> x = normal(static_cast<size_t>(n), 10);
    if (n > 8) x[5] = -0.0f, x[6] = std::numeric_limits<float>::quiet_NaN();
    for (int chunk : {8, 100}) {
      Tensor unit = Tensor::empty(cpu(), {(n + chunk - 1) / chunk}),
             bits = Tensor::empty(cpu(), {(n + 7) / 8}, DType::u8);
      ops::sign_pack(s, tensor({n}, x), unit, bits, {chunk});
      std::vector<float> got_unit(static_cast<size_t>(unit.numel()));
      std::vector<uint8_t> got_bits(static_cast<size_t>(bits.numel()));
      tandem_sign_pack(x.data(), got_unit.data(), got_bits.data(), n, chunk);
      EXPECT_EQ(bit_pattern(got_unit), bit_pattern(unit.to_f32())) << "n " << n << " chunk " << chunk;
      EXPECT_EQ(got_bits, host<uint8_t>(bits)) << "n " << n << " chunk " << chunk;
    }
  }
}

TEST(HlsCores, CompactSelectsLikeTheCpuWithTiesLimitsAndShortCapacity) {
  Stream s(cpu());
  const int n = 5000;
  std::vector<float> x = normal(n, 11);
  for (int i = 0; i < n; i += 97) x[static_cast<size_t>(i)] = (i % 2 ? 1.5f : -1.5f);  // ties at the threshold
  const float t = 1.5f;
  for (int64_t limit : {int64_t{1} << 40, int64_t{200}, int64_t{0}})
    for (int capacity : {n, 50}) {
      Tensor idx = Tensor::empty(cpu(), {capacity}, DType::i32), val = Tensor::empty(cpu(), {capacity}),
             count = Tensor::empty(cpu(), {1}, DType::i32);
      ops::compact(s, tensor({n}, x), tensor({1}, {t}), idx, val, count, {limit});
      std::vector<int32_t> got_idx(static_cast<size_t>(capacity), -1);
      std::vector<float> got_val(static_cast<size_t>(capacity), 0.0f);
      int32_t got_count = -1;
      tandem_compact(x.data(), t, got_idx.data(), got_val.data(), &got_count, n, capacity, limit);
      const int32_t want_count = host<int32_t>(count)[0];
      ASSERT_EQ(got_count, want_count) << "limit " << limit << " capacity " << capacity;
      const size_t written = static_cast<size_t>(std::min(want_count, capacity));
      const auto wi = host<int32_t>(idx);
      const auto wv = val.to_f32();
      EXPECT_EQ(std::vector<int32_t>(got_idx.begin(), got_idx.begin() + written),
                std::vector<int32_t>(wi.begin(), wi.begin() + written));
      EXPECT_EQ(std::vector<float>(got_val.begin(), got_val.begin() + written),
                std::vector<float>(wv.begin(), wv.begin() + written));
    }
}

TEST(HlsCores, AccumulateIsBitIdenticalToTheCpu) {
  Stream s(cpu());
  const int n = 777;
  const auto x = normal(n, 12), y0 = normal(n, 13);
  for (bool start : {true, false}) {
    Tensor want = tensor({n}, y0);
    compression::accumulate(s, tensor({n}, x), 0.3f, want, start);
    std::vector<float> got = y0;
    tandem_axpy(x.data(), got.data(), 0.3f, n, start);
    EXPECT_EQ(bit_pattern(got), bit_pattern(want.to_f32())) << (start ? "start" : "add");
  }
}

}  // namespace
}  // namespace tandem
