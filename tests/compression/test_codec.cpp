// Dense codecs end to end: exact sizes, round-trip error bounds, unbiasedness of the stochastic
// ones, determinism per key, and rejection of malformed payloads before anything is written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "../ops/harness.h"
#include "tandem/compression/codec.h"
#include "tandem/error.h"
#include "tandem/ops.h"

namespace tandem::compression {
namespace {

Tensor gradient(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 0.01f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = g(rng);
  return Tensor::from_vector(cpu_device(), {n}, v);
}

// Largest |x| in each chunk of `chunk` elements.
std::vector<float> chunk_absmax(const std::vector<float>& x, size_t chunk) {
  std::vector<float> m((x.size() + chunk - 1) / chunk, 0.0f);
  for (size_t i = 0; i < x.size(); ++i) m[i / chunk] = std::max(m[i / chunk], std::fabs(x[i]));
  return m;
}

TEST(Codec, ParseAndSizes) {
  EXPECT_EQ(codec_string(parse_codec("qsgd:16")), "qsgd:16:256");
  EXPECT_EQ(codec_string(parse_codec("int8:1024")), "int8:1024");
  EXPECT_EQ(payload_bytes(parse_codec("none"), 1000), 4000u);
  EXPECT_EQ(payload_bytes(parse_codec("bf16"), 1000), 2000u);
  EXPECT_EQ(payload_bytes(parse_codec("int8:256"), 1000), 4u * 4 + 1000);
  EXPECT_EQ(payload_bytes(parse_codec("sign"), 1000), 4u * 4 + 125);
  for (const char* bad : {"int4", "qsgd", "qsgd:0", "qsgd:300", "int8:0", "int8:x", "fp16:2", "terngrad:1:2"})
    EXPECT_THROW(parse_codec(bad), Error) << bad;
}

TEST(Codec, RoundTripErrorBounds) {
  Stream s(cpu_device());
  const int64_t n = 10000;
  const Tensor g = gradient(n, 1);
  const std::vector<float> x = g.to_f32();
  for (const char* name : {"none", "fp16", "bf16", "int8", "int8:100", "qsgd:64", "terngrad"}) {
    const CodecSpec spec = parse_codec(name);
    const std::vector<uint8_t> msg = compress(s, g, spec, {7, 1, 0});
    EXPECT_EQ(msg.size(), wire_header_bytes + payload_bytes(spec, n)) << name;
    Tensor y = Tensor::empty(cpu_device(), {n});
    decompress(s, msg, y);
    const std::vector<float> v = y.to_f32();
    const size_t chunk = spec.codec == Codec::qsgd ? spec.params[1] : spec.params[0];
    const std::vector<float> amax = chunk ? chunk_absmax(x, chunk) : std::vector<float>();
    for (int64_t i = 0; i < n; ++i) {
      const float e = std::fabs(v[i] - x[i]);
      switch (spec.codec) {
        case Codec::none:
          ASSERT_EQ(e, 0.0f) << name;
          break;
        case Codec::fp16:
          ASSERT_LE(e, std::fabs(x[i]) * 0x1p-11f + 0x1p-25f) << name << " " << i;
          break;
        case Codec::bf16:
          ASSERT_LE(e, std::fabs(x[i]) * 0x1p-8f) << name << " " << i;
          break;
        case Codec::int8:
          ASSERT_LE(e, 0.5f * amax[i / chunk] / 127 * 1.001f) << name << " " << i;
          break;
        case Codec::terngrad:
          ASSERT_LE(e, amax[i / chunk] * 1.001f) << name << " " << i;
          break;
        default:
          break;  // qsgd: bounded by one step of ‖x‖/s, checked below through unbiasedness
      }
    }
  }
}

TEST(Codec, StochasticCodecsAreUnbiasedAndDeterministic) {
  Stream s(cpu_device());
  const int64_t n = 256;
  const Tensor g = gradient(n, 2);
  const std::vector<float> x = g.to_f32();
  for (const char* name : {"qsgd:4", "terngrad"}) {
    const CodecSpec spec = parse_codec(name);
    std::vector<double> mean(static_cast<size_t>(n), 0.0);
    const int keys = 3000;
    Tensor y = Tensor::empty(cpu_device(), {n});
    for (int k = 0; k < keys; ++k) {
      decompress(s, compress(s, g, spec, {3, static_cast<uint32_t>(k), 0}), y);
      const std::vector<float> v = y.to_f32();
      for (int64_t i = 0; i < n; ++i) mean[i] += v[i] / keys;
    }
    // The step is at most max|x| (TernGrad) or ‖x‖/s (QSGD); σ of the mean ≤ step / (2√keys).
    double norm = 0;
    for (float v : x) norm += double(v) * v;
    const double step = spec.codec == Codec::qsgd ? std::sqrt(norm) / 4 : chunk_absmax(x, n)[0];
    for (int64_t i = 0; i < n; ++i)
      ASSERT_NEAR(mean[i], x[i], 5 * step / (2 * std::sqrt(double(keys)))) << name << " " << i;
    EXPECT_EQ(compress(s, g, spec, {3, 9, 1}), compress(s, g, spec, {3, 9, 1})) << name;
    EXPECT_NE(compress(s, g, spec, {3, 9, 1}), compress(s, g, spec, {3, 9, 2})) << name;
  }
}

TEST(Codec, SignSendsOneBitAndTheMeanMagnitude) {
  Stream s(cpu_device());
  const int64_t n = 1001, chunk = 100;
  const Tensor g = gradient(n, 4);
  const std::vector<float> x = g.to_f32();
  const CodecSpec spec = parse_codec("sign:100");
  const std::vector<uint8_t> msg = compress(s, g, spec, {});
  EXPECT_EQ(msg.size(), wire_header_bytes + 4 * 11 + 126);  // 11 scales, ⌈1001/8⌉ bytes
  Tensor y = Tensor::empty(cpu_device(), {n});
  decompress(s, msg, y);
  const std::vector<float> v = y.to_f32();
  for (int64_t c = 0; c * chunk < n; ++c) {
    double mean = 0;
    const int64_t end = std::min(n, (c + 1) * chunk);
    for (int64_t i = c * chunk; i < end; ++i) mean += std::fabs(x[i]) / double(end - c * chunk);
    for (int64_t i = c * chunk; i < end; ++i) ASSERT_NEAR(v[i], (x[i] >= 0 ? 1 : -1) * mean, 1e-7) << "element " << i;
  }
  // The unused high bits of the last byte must be zero.
  std::vector<uint8_t> payload(msg.begin() + wire_header_bytes, msg.end());
  payload.back() |= 0x80;
  test::expect_error([&] { decompress(s, encode_wire(decode_wire(msg).header, payload), y); }, {"padding bits"});
}

// Error feedback keeps what the codec dropped: after any number of steps,
// Σ decoded + residual = Σ gradients (up to f32 rounding).
TEST(Codec, ErrorFeedbackLosesNothing) {
  Stream s(cpu_device());
  const int64_t n = 777;
  ErrorFeedback ef;
  std::vector<double> sum_g(static_cast<size_t>(n), 0.0), sum_sent(static_cast<size_t>(n), 0.0);
  Tensor decoded = Tensor::empty(cpu_device(), {n});
  for (unsigned step = 0; step < 30; ++step) {
    const Tensor g = gradient(n, 100 + step);
    for (int64_t i = 0; i < n; ++i) sum_g[i] += g.to_f32()[static_cast<size_t>(i)];
    ef.compensate(s, g);
    decompress(s, compress(s, g, parse_codec("sign"), {}), decoded);
    ef.update(s, g, decoded);
    const std::vector<float> d = decoded.to_f32();
    for (int64_t i = 0; i < n; ++i) sum_sent[i] += d[i];
  }
  const std::vector<float> r = ef.residual().to_f32();
  for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(sum_sent[i] + r[i], sum_g[i], 1e-5) << "element " << i;
}

// Re-encodes a payload under a header, so that only the payload content is wrong.
std::vector<uint8_t> with_payload(const std::vector<uint8_t>& msg, std::vector<uint8_t> payload) {
  const WireMessage m = decode_wire(msg);
  return encode_wire(m.header, payload);
}

TEST(Codec, RejectsMalformedPayloads) {
  Stream s(cpu_device());
  const Tensor g = gradient(1000, 3);
  Tensor out = Tensor::empty(cpu_device(), {1000});
  auto expect = [&](const std::vector<uint8_t>& msg, const Tensor& o, const std::string& fragment) {
    test::expect_error([&] { decompress(s, msg, o); }, {fragment});
  };
  const std::vector<uint8_t> int8 = compress(s, g, parse_codec("int8"), {});
  const std::vector<uint8_t> payload(int8.begin() + wire_header_bytes, int8.end());
  expect(int8, Tensor::empty(cpu_device(), {999}), "message holds 1000 elements");
  expect(with_payload(int8, std::vector<uint8_t>(payload.begin(), payload.end() - 1)), out, "1000 elements need 1016");
  std::vector<uint8_t> nan_scale = payload;
  const float nan = NAN;
  std::memcpy(nan_scale.data() + 4, &nan, 4);
  expect(with_payload(int8, nan_scale), out, "scale of chunk 1 is nan");
  std::vector<uint8_t> bad_level = payload;
  bad_level[16 + 5] = static_cast<uint8_t>(-128);
  expect(with_payload(int8, bad_level), out, "level -128 of element 5 outside ±127");
  const std::vector<uint8_t> tern = compress(s, g, parse_codec("terngrad"), {});
  std::vector<uint8_t> tp(tern.begin() + wire_header_bytes, tern.end());
  tp[16] = 2;
  expect(with_payload(tern, tp), out, "level 2 of element 0 outside ±1");
  std::vector<uint8_t> corrupt = int8;
  corrupt[wire_header_bytes + 100] ^= 1;
  expect(corrupt, out, "checksum mismatch");
}

}  // namespace
}  // namespace tandem::compression
