// Dense codecs end to end: exact sizes, round-trip error bounds, unbiasedness of the stochastic
// ones, determinism per key, and rejection of malformed payloads before anything is written.
// (Sparse and low-rank codecs: test_codec_sparse.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "../ops/harness.h"
#include "codec_util.h"
#include "tandem/compression/feedback.h"
#include "tandem/error.h"
#include "tandem/ops.h"

namespace tandem::compression {
namespace {

// Largest |x| in each chunk of `chunk` elements.
std::vector<float> chunk_absmax(const std::vector<float>& x, size_t chunk) {
  std::vector<float> m((x.size() + chunk - 1) / chunk, 0.0f);
  for (size_t i = 0; i < x.size(); ++i) m[i / chunk] = std::max(m[i / chunk], std::fabs(x[i]));
  return m;
}

TEST(Codec, ParseAndSizes) {
  EXPECT_EQ(codec_string(parse_codec("qsgd:16")), "qsgd:16:256");
  EXPECT_EQ(codec_string(parse_codec("int8:1024")), "int8:1024");
  EXPECT_EQ(codec_string(parse_codec("topk:0.01")), "topk:0.01");
  EXPECT_EQ(codec_string(parse_codec("powersgd:4")), "powersgd:4");
  const Shape v{1000}, m{40, 25};
  EXPECT_EQ(payload_bytes(parse_codec("none"), v), 4000u);
  EXPECT_EQ(payload_bytes(parse_codec("bf16"), v), 2000u);
  EXPECT_EQ(payload_bytes(parse_codec("int8:256"), v), 4u * 4 + 1000);
  EXPECT_EQ(payload_bytes(parse_codec("terngrad:256"), v), 4u * 4 + 250);   // 2 bits per level
  EXPECT_EQ(payload_bytes(parse_codec("qsgd:4:256"), v), 4u * 4 + 500);     // 9 levels: 4 bits
  EXPECT_EQ(payload_bytes(parse_codec("qsgd:127:256"), v), 4u * 4 + 1000);  // 255 levels: 8 bits
  EXPECT_EQ(payload_bytes(parse_codec("qsgd:2:256"), v), 4u * 4 + 375);     // 5 levels: 3 bits
  EXPECT_EQ(payload_bytes(parse_codec("sign"), v), 4u * 4 + 125);
  EXPECT_EQ(payload_bytes(parse_codec("randomk:0.01"), v), 8u * 10);
  EXPECT_EQ(payload_bytes(parse_codec("topk:0.0001"), v), 8u * 1);  // at least one pair
  EXPECT_EQ(payload_bytes(parse_codec("powersgd:4"), m), 4u * 4 * (40 + 25));
  EXPECT_EQ(payload_bytes(parse_codec("powersgd:4"), v), 4u * 1 * (1000 + 1));  // a vector is rank 1
  EXPECT_EQ(codec_traits(Codec::powersgd).aggregation, Aggregation::allreduce);
  EXPECT_EQ(codec_traits(Codec::topk).aggregation, Aggregation::allgather);
  EXPECT_FALSE(codec_traits(Codec::topk_sampled).exact_size);
  for (const char* bad : {"int4", "qsgd", "qsgd:0", "qsgd:300", "int8:0", "int8:x", "fp16:2", "terngrad:1:2", "topk",
                          "topk:0", "topk:1.5", "topk:x", "randomk:0.0000001", "powersgd", "powersgd:0"})
    EXPECT_THROW(parse_codec(bad), Error) << bad;
}

TEST(Codec, RoundTripErrorBounds) {
  Stream s(cpu_device());
  const int64_t n = 10000;
  const Tensor g = gradient(n, 1);
  const std::vector<float> x = g.to_f32();
  for (const char* name : {"none", "fp16", "bf16", "int8", "int8:100", "qsgd:64", "qsgd:3", "terngrad"}) {
    const CodecSpec spec = parse_codec(name);
    const std::vector<uint8_t> msg = encode(s, g, spec, {7, 1, 0});
    EXPECT_EQ(msg.size(), wire_header_bytes + payload_bytes(spec, {n})) << name;
    Tensor y = Tensor::empty(cpu_device(), {n});
    decode(s, msg, y);
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
      decode(s, encode(s, g, spec, {3, static_cast<uint32_t>(k), 0}), y);
      const std::vector<float> v = y.to_f32();
      for (int64_t i = 0; i < n; ++i) mean[i] += v[i] / keys;
    }
    // The step is at most max|x| (TernGrad) or ‖x‖/s (QSGD); σ of the mean ≤ step / (2√keys).
    double norm = 0;
    for (float v : x) norm += double(v) * v;
    const double step = spec.codec == Codec::qsgd ? std::sqrt(norm) / 4 : chunk_absmax(x, n)[0];
    for (int64_t i = 0; i < n; ++i)
      ASSERT_NEAR(mean[i], x[i], 5 * step / (2 * std::sqrt(double(keys)))) << name << " " << i;
    EXPECT_EQ(encode(s, g, spec, {3, 9, 1}), encode(s, g, spec, {3, 9, 1})) << name;
    EXPECT_NE(encode(s, g, spec, {3, 9, 1}), encode(s, g, spec, {3, 9, 2})) << name;
    EXPECT_NE(encode(s, g, spec, {3, 9, 1, 0}), encode(s, g, spec, {3, 9, 1, 4096})) << name << ": offset ignored";
  }
}

TEST(Codec, SignSendsOneBitAndTheMeanMagnitude) {
  Stream s(cpu_device());
  const int64_t n = 1001, chunk = 100;
  const Tensor g = gradient(n, 4);
  const std::vector<float> x = g.to_f32();
  const CodecSpec spec = parse_codec("sign:100");
  const std::vector<uint8_t> msg = encode(s, g, spec, {});
  EXPECT_EQ(msg.size(), wire_header_bytes + 4 * 11 + 126);  // 11 scales, ⌈1001/8⌉ bytes
  Tensor y = Tensor::empty(cpu_device(), {n});
  decode(s, msg, y);
  const std::vector<float> v = y.to_f32();
  for (int64_t c = 0; c * chunk < n; ++c) {
    double mean = 0;
    const int64_t end = std::min(n, (c + 1) * chunk);
    for (int64_t i = c * chunk; i < end; ++i) mean += std::fabs(x[i]) / double(end - c * chunk);
    for (int64_t i = c * chunk; i < end; ++i) ASSERT_NEAR(v[i], (x[i] >= 0 ? 1 : -1) * mean, 1e-7) << "element " << i;
  }
  // The unused high bits of the last byte must be zero.
  std::vector<uint8_t> payload(msg.begin() + wire_header_bytes, msg.end());
  ASSERT_FALSE(payload.empty());  // also tells GCC so (-Warray-bounds on back() otherwise)
  payload.back() |= 0x80;
  test::expect_error([&] { decode(s, encode_wire(decode_wire(msg).header, payload), y); }, {"padding bits"});
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
    decode(s, encode(s, g, parse_codec("sign"), {}), decoded);
    ef.update(s, g, decoded);
    const std::vector<float> d = decoded.to_f32();
    for (int64_t i = 0; i < n; ++i) sum_sent[i] += d[i];
  }
  const std::vector<float> r = ef.residual().to_f32();
  for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(sum_sent[i] + r[i], sum_g[i], 1e-5) << "element " << i;
}

TEST(Codec, RejectsMalformedPayloads) {
  Stream s(cpu_device());
  const Tensor g = gradient(1000, 3);
  Tensor out = Tensor::empty(cpu_device(), {1000});
  auto expect = [&](const std::vector<uint8_t>& msg, const Tensor& o, const std::string& fragment) {
    test::expect_error([&] { decode(s, msg, o); }, {fragment});
  };
  const std::vector<uint8_t> int8 = encode(s, g, parse_codec("int8"), {});
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
  const std::vector<uint8_t> tern = encode(s, g, parse_codec("terngrad"), {});
  std::vector<uint8_t> tp(tern.begin() + wire_header_bytes, tern.end());
  tp[16] |= 3;  // field 3 = level 2
  expect(with_payload(tern, tp), out, "level 2 of element 0 outside ±1");
  const std::vector<uint8_t> qsgd = encode(s, g, parse_codec("qsgd:2"), {});  // 3-bit fields, 1000 × 3 bits
  std::vector<uint8_t> qp(qsgd.begin() + wire_header_bytes, qsgd.end());
  qp[16] |= 7;  // field 7 = level 5
  expect(with_payload(qsgd, qp), out, "level 5 of element 0 outside ±2");
  WireHeader h = decode_wire(int8).header;
  h.params[1] = 3;
  expect(encode_wire(h, payload), out, "codec parameter 1 is 3, not 0");
  h = decode_wire(int8).header;
  h.dtype = DType::f16;
  expect(encode_wire(h, payload), out, "gradient dtype f16");
  std::vector<uint8_t> corrupt = int8;
  corrupt[wire_header_bytes + 100] ^= 1;
  expect(corrupt, out, "checksum mismatch");
}

}  // namespace
}  // namespace tandem::compression

namespace tandem::compression {
namespace {

// The decode fuzzer's seed corpus (one message per codec, made by this encoder) decodes fully.
TEST(Codec, DecodeSeedCorpusDecodes) {
  Stream s(cpu_device());
  int files = 0;
  for (const auto& f : std::filesystem::directory_iterator(TANDEM_SOURCE_DIR "/compression/fuzz/corpus/decode")) {
    std::ifstream in(f.path(), std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    Tensor out = Tensor::empty(cpu_device(), {static_cast<int64_t>(decode_wire(bytes).header.count)});
    EXPECT_NO_THROW(decode(s, bytes, out)) << f.path();
    ++files;
  }
  EXPECT_EQ(files, codec_count + 1) << "one seed per codec (qsgd twice: packed and raw levels)";
}

}  // namespace
}  // namespace tandem::compression
