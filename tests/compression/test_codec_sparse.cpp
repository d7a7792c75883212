// Sparse and low-rank codecs end to end: random-k is unbiased, exact top-k equals a sort,
// sampled top-k hits its density within the stated tolerance, PowerSGD recovers an exactly
// low-rank matrix, decode-and-sum equals the sum of decodes, and malformed payloads are
// rejected before anything is written.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "../ops/harness.h"
#include "codec_util.h"
#include "tandem/compression/feedback.h"
#include "tandem/ops.h"

namespace tandem::compression {
namespace {

std::vector<int32_t> indices_of(const std::vector<uint8_t>& msg) {
  const WireMessage m = decode_wire(msg);
  std::vector<int32_t> idx(m.header.params[1]);
  std::memcpy(idx.data(), m.payload.data(), 4 * idx.size());
  return idx;
}

TEST(SparseCodec, RandomKIsUnbiasedAndKeyed) {
  Stream s(cpu_device());
  const int64_t n = 200;
  const Tensor g = gradient(n, 5);
  const std::vector<float> x = g.to_f32();
  const CodecSpec spec = parse_codec("randomk:0.25");  // strata of 4: each element kept 1 time in 4, ×4
  const int keys = 4000;
  std::vector<double> mean(static_cast<size_t>(n), 0.0);
  Tensor y = Tensor::empty(cpu_device(), {n});
  for (int k = 0; k < keys; ++k) {
    const std::vector<uint8_t> msg = encode(s, g, spec, {1, static_cast<uint32_t>(k), 0});
    ASSERT_EQ(msg.size(), wire_header_bytes + 8 * 50);
    decode(s, msg, y);
    const std::vector<float> v = y.to_f32();
    for (int64_t i = 0; i < n; ++i) mean[i] += v[i] / keys;
  }
  for (int64_t i = 0; i < n; ++i) {  // per key: 4x w.p. 1/4, else 0 → σ = |x|·√3; mean over keys: σ/√keys
    const double sigma = std::fabs(x[i]) * std::sqrt(3.0 / keys);
    ASSERT_NEAR(mean[i], x[i], 5 * sigma + 1e-9) << "biased at " << i;
  }
  EXPECT_EQ(encode(s, g, spec, {1, 2, 3}), encode(s, g, spec, {1, 2, 3}));
  EXPECT_NE(encode(s, g, spec, {1, 2, 3}), encode(s, g, spec, {1, 2, 4}));
}

TEST(SparseCodec, ExactTopKEqualsASort) {
  Stream s(cpu_device());
  for (const int64_t n : {int64_t{10}, int64_t{1000}, int64_t{100003}}) {
    // Many exact ties: magnitudes from a small set, so the k-th value is shared.
    std::vector<float> x(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>((i * 7919) % 41 - 20) / 8.0f;
    const Tensor g = Tensor::from_vector(cpu_device(), {n}, x);
    for (const char* name : {"topk:0.01", "topk:0.3", "topk:1"}) {
      const CodecSpec spec = parse_codec(name);
      const std::vector<uint8_t> msg = encode(s, g, spec, {});
      const auto k = static_cast<int64_t>(decode_wire(msg).header.params[1]);
      // The sort: by magnitude, larger first; equal magnitudes by index.
      std::vector<int32_t> order(static_cast<size_t>(n));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int32_t a, int32_t b) { return std::fabs(x[a]) > std::fabs(x[b]); });
      std::vector<int32_t> want(order.begin(), order.begin() + k);
      std::sort(want.begin(), want.end());
      ASSERT_EQ(indices_of(msg), want) << name << " n=" << n;
      Tensor y = Tensor::empty(cpu_device(), {n});
      decode(s, msg, y);
      const std::vector<float> v = y.to_f32();
      std::vector<float> dense(static_cast<size_t>(n), 0.0f);
      for (int32_t i : want) dense[i] = x[i];
      ASSERT_EQ(v, dense) << name;
    }
  }
}

// The sample holds ≥ 400 elements above its threshold, so the count's relative error has
// σ ≈ 1/√400 = 5%; the stated tolerance is ±25% (5σ).
TEST(SparseCodec, SampledTopKHitsItsDensity) {
  Stream s(cpu_device());
  const int64_t n = 1 << 20;
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0, 1);
  std::student_t_distribution<float> heavy(2.0f);
  for (const int dist : {0, 1})
    for (const char* name : {"topk_sampled:0.01", "topk_sampled:0.001"}) {
      std::vector<float> x(static_cast<size_t>(n));
      for (float& v : x) v = dist == 0 ? normal(rng) : heavy(rng);
      const Tensor g = Tensor::from_vector(cpu_device(), {n}, x);
      const CodecSpec spec = parse_codec(name);
      const double k = double(n) * spec.params[0] / 1e6;
      for (uint32_t step = 0; step < 3; ++step) {
        const std::vector<uint8_t> msg = encode(s, g, spec, {4, step, 0});
        const std::vector<int32_t> idx = indices_of(msg);
        EXPECT_NEAR(double(idx.size()), k, 0.25 * k) << name << (dist ? " student-t" : " normal") << " step " << step;
        // A top set: nothing left out is larger than anything sent.
        std::vector<bool> sent(static_cast<size_t>(n), false);
        float smallest_sent = INFINITY, largest_left = 0;
        for (int32_t i : idx) sent[i] = true, smallest_sent = std::min(smallest_sent, std::fabs(x[i]));
        for (int64_t i = 0; i < n; ++i)
          if (!sent[i]) largest_left = std::max(largest_left, std::fabs(x[i]));
        EXPECT_LE(largest_left, smallest_sent) << name;
      }
      EXPECT_EQ(encode(s, g, spec, {4, 1, 0}), encode(s, g, spec, {4, 1, 0})) << "same key, same selection";
    }
}

// (A Bᵀ) of rank 3 through powersgd:4 comes back exactly (to f32 rounding); a full-rank matrix
// improves over warm-started steps, as power iteration converges.
TEST(PowerSgd, RecoversAnExactlyLowRankMatrix) {
  Stream s(cpu_device());
  const int64_t rows = 64, cols = 48, rank = 3;
  const ref::Host a = ref::random({rows, rank}, 31), b = ref::random({cols, rank}, 32);
  Tensor M = Tensor::empty(cpu_device(), {rows, cols});
  ops::gemm(s, test::up(cpu_device(), a), test::up(cpu_device(), b), M, {false, true});
  const std::vector<float> m = M.to_f32();
  GradientCodec codec(parse_codec("powersgd:4"));
  Tensor y = Tensor::empty(cpu_device(), {rows, cols});
  const std::span<const uint8_t> msg = codec.compress(s, M, {8, 0, 0});
  EXPECT_EQ(msg.size(), wire_header_bytes + 4 * 4 * (rows + cols));
  codec.decompress(s, msg, y);
  test::expect_close(y.to_f32(), m, 1e-5, 1e-4, "rank-3 matrix through powersgd:4");
  EXPECT_EQ(codec.state().shape(), (Shape{cols, 4}));

  // A vector (bias) is a rank-1 matrix [n, 1]: exact as well.
  const Tensor bias = gradient(100, 3);
  GradientCodec vec(parse_codec("powersgd:2"));
  Tensor yb = Tensor::empty(cpu_device(), {100});
  vec.decompress(s, vec.compress(s, bias, {8, 0, 0}), yb);
  test::expect_close(yb.to_f32(), bias.to_f32(), 1e-7, 1e-4, "vector through powersgd");

  // Full rank: the error shrinks as the warm-started Q converges to the top singular space.
  const ref::Host full = ref::random({rows, cols}, 33);
  const Tensor F = test::up(cpu_device(), full);
  GradientCodec warm(parse_codec("powersgd:4"));
  auto error = [&] {
    warm.decompress(s, warm.compress(s, F, {8, 0, 0}), y);
    const std::vector<float> v = y.to_f32();
    double e = 0;
    for (size_t i = 0; i < v.size(); ++i) e += double(v[i] - full.v[i]) * (v[i] - full.v[i]);
    return std::sqrt(e);
  };
  const double first = error();
  double last = first;
  for (int step = 0; step < 20; ++step) last = error();
  EXPECT_LT(last, first) << "warm start should converge toward the best rank-4 approximation";

  // A restored state continues identically.
  GradientCodec copy(parse_codec("powersgd:4"));
  copy.restore_state(s, warm.state());
  const std::span<const uint8_t> a1 = warm.compress(s, F, {8, 0, 0});
  const std::vector<uint8_t> w1(a1.begin(), a1.end());
  const std::span<const uint8_t> c1 = copy.compress(s, F, {8, 0, 0});
  EXPECT_EQ(w1, std::vector<uint8_t>(c1.begin(), c1.end()));
}

// Allgather aggregation: decoding each rank's payload with accumulate sums them.
TEST(SparseCodec, DecodeAndSumEqualsTheSumOfDecodes) {
  Stream s(cpu_device());
  const int64_t n = 3000;
  for (const char* name :
       {"none", "bf16", "int8", "qsgd:3", "sign", "randomk:0.05", "topk:0.05", "topk_sampled:0.05", "powersgd:2"}) {
    const CodecSpec spec = parse_codec(name);
    Tensor sum = Tensor::zeros(cpu_device(), {30, 100}), one = Tensor::empty(cpu_device(), {30, 100});
    std::vector<double> want(static_cast<size_t>(n), 0.0);
    for (uint32_t rank = 0; rank < 3; ++rank) {
      const Tensor g = gradient(n, 40 + rank).reshape({30, 100});
      const std::vector<uint8_t> msg = encode(s, g, spec, {5, 1, rank});
      decode(s, msg, one);
      const std::vector<float> v = one.to_f32();
      for (int64_t i = 0; i < n; ++i) want[i] += v[i];
      decode(s, msg, sum, true);
    }
    const std::vector<float> got = sum.to_f32();
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(got[i], want[i], 1e-6) << name << " " << i;
  }
}

TEST(SparseCodec, ErrorFeedbackWithTopKLosesNothing) {
  Stream s(cpu_device());
  const int64_t n = 999;
  ErrorFeedback ef;
  std::vector<double> sum_g(static_cast<size_t>(n), 0.0), sum_sent(static_cast<size_t>(n), 0.0);
  Tensor decoded = Tensor::empty(cpu_device(), {n});
  GradientCodec codec(parse_codec("topk:0.01"));
  for (unsigned step = 0; step < 40; ++step) {
    const Tensor g = gradient(n, 200 + step);
    const std::vector<float> gv = g.to_f32();
    for (int64_t i = 0; i < n; ++i) sum_g[i] += gv[i];
    ef.compensate(s, g);
    codec.decompress(s, codec.compress(s, g, {}), decoded);
    ef.update(s, g, decoded);
    const std::vector<float> d = decoded.to_f32();
    for (int64_t i = 0; i < n; ++i) sum_sent[i] += d[i];
  }
  const std::vector<float> r = ef.residual().to_f32();
  for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(sum_sent[i] + r[i], sum_g[i], 1e-5) << "element " << i;
}

TEST(SparseCodec, RejectsMalformedPayloads) {
  Stream s(cpu_device());
  const int64_t n = 1000;
  const Tensor g = gradient(n, 6);
  Tensor out = Tensor::empty(cpu_device(), {n});
  auto expect = [&](const std::vector<uint8_t>& msg, const std::string& fragment) {
    out.copy_from_host(std::vector<float>(n, 7.0f).data());
    test::expect_error([&] { decode(s, msg, out); }, ErrorKind::invalid_argument, {fragment});
    EXPECT_EQ(out.to_f32(), std::vector<float>(n, 7.0f)) << "nothing may be written: " << fragment;
  };
  const std::vector<uint8_t> topk = encode(s, g, parse_codec("topk:0.01"), {});
  std::vector<uint8_t> p(topk.begin() + wire_header_bytes, topk.end());
  auto set_index = [&](std::vector<uint8_t> q, size_t j, int32_t v) {
    std::memcpy(q.data() + 4 * j, &v, 4);
    return with_payload(topk, q);
  };
  expect(set_index(p, 3, 1000), "index 1000 at position 3 outside [0, 1000)");
  expect(set_index(p, 3, -1), "index -1 at position 3 does not increase");
  int32_t second;
  std::memcpy(&second, p.data() + 4, 4);
  expect(set_index(p, 2, second), "at position 2 does not increase");
  WireHeader h = decode_wire(topk).header;
  h.params[1] = 11;
  expect(encode_wire(h, std::vector<uint8_t>(88)), "11 pairs; ratio 10000 ppm of 1000 elements gives 10");
  h.codec = Codec::topk_sampled;
  h.params[1] = 2000;
  expect(encode_wire(h, std::vector<uint8_t>(16000)), "2000 pairs for 1000 elements");
  h.params[1] = 10;
  expect(encode_wire(h, std::vector<uint8_t>(79)), "payload of 79 bytes; 1000 elements need 80");
  h.params[0] = 0;
  expect(encode_wire(h, std::vector<uint8_t>(80)), "ratio of 0 ppm");

  WireHeader w;
  w.codec = Codec::powersgd;
  w.count = n;
  w.params = {4, 3, 0, 0};
  expect(encode_wire(w, {}), "3 rows do not divide 1000 elements");
  w.params = {0, 10, 0, 0};
  expect(encode_wire(w, {}), "rank 0");
  w.params = {4, 10, 0, 0};
  expect(encode_wire(w, std::vector<uint8_t>(10)), "1000 elements need 1760");
  w.count = 0;
  expect(encode_wire(w, {}), "no elements");
}

}  // namespace
}  // namespace tandem::compression
