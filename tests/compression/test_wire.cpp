// The counter-based generator against Random123's known answers, CRC-32C, and the wire
// format: round trips and every malformed message.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "../ops/harness.h"
#include "tandem/numeric/philox.h"
#include "tandem/compression/wire.h"
#include "tandem/error.h"

namespace tandem::compression {
namespace {

using namespace numeric;  // the primitives the wire format is built on

// Random123 tests/kat_vectors, the three "philox4x32 10" lines (counter, key, result).
TEST(Philox, KnownAnswers) {
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}), (PhiloxCounter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
            (PhiloxCounter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
            (PhiloxCounter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
  static_assert(philox4x32_10({0, 0, 0, 0}, {0, 0})[0] == 0x6627e8d5u, "usable at compile time");
}

TEST(Philox, KeyedStreamsAreDeterministicAndDistinct) {
  const RandomKey a{42, 7, 0}, b{42, 7, 1}, c{42, 8, 0};
  EXPECT_EQ(random_u32(a, 12345), random_u32(a, 12345));
  EXPECT_NE(random_u32(a, 12345), random_u32(b, 12345));
  EXPECT_NE(random_u32(a, 12345), random_u32(c, 12345));
  // Uniform: mean ≈ 1/2 and variance ≈ 1/12 over 200k draws; every value in [0, 1).
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const float u = random_uniform(a, static_cast<uint64_t>(i));
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    sum += u, sq += double(u) * u;
  }
  EXPECT_NEAR(sum / n, 0.5, 0.005);
  EXPECT_NEAR(sq / n - (sum / n) * (sum / n), 1.0 / 12, 0.002);
}

TEST(Crc32c, KnownAnswer) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);  // the standard check value
  EXPECT_EQ(crc32c("", 0), 0u);
  EXPECT_EQ(crc32c("6789", 4, crc32c("12345", 5)), 0xE3069283u);  // streaming
}

// Large buffers take the interleaved path (three streams joined by GF(2) algebra); it must
// agree bit for bit with the definition, computed here one bit at a time.
TEST(Crc32c, InterleavedStreamsMatchTheBitwiseDefinition) {
  std::vector<uint8_t> data(300007);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  for (size_t n : {size_t{65535}, size_t{65536}, size_t{100001}, size_t{300007}}) {
    uint32_t want = ~0u;
    for (size_t i = 0; i < n; ++i) {
      want ^= data[i];
      for (int k = 0; k < 8; ++k) want = (want & 1u) ? (want >> 1) ^ 0x82F63B78u : want >> 1;
    }
    EXPECT_EQ(crc32c(data.data(), n), ~want) << n << " bytes";
    EXPECT_EQ(crc32c(data.data() + 77, n - 77, crc32c(data.data(), 77)), ~want) << n << " bytes, streamed";
  }
}

std::vector<uint8_t> sample() {
  WireHeader h;
  h.codec = Codec::topk;
  h.dtype = DType::f32;
  h.count = 1000;
  h.params = {10, 0, 0, 0};
  std::vector<uint8_t> payload(80);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
  return encode_wire(h, payload);
}

TEST(Wire, RoundTrip) {
  const std::vector<uint8_t> msg = sample();
  ASSERT_EQ(msg.size(), wire_header_bytes + 80);
  const WireMessage m = decode_wire(msg);
  EXPECT_EQ(m.header.codec, Codec::topk);
  EXPECT_EQ(m.header.count, 1000u);
  EXPECT_EQ(m.header.params[0], 10u);
  ASSERT_EQ(m.payload.size(), 80u);
  EXPECT_EQ(m.payload[3], 21);
  EXPECT_EQ(m.payload.data(), msg.data() + wire_header_bytes);  // a view, no copy
  EXPECT_EQ(codec_name(Codec::powersgd), "powersgd");
}

void expect_rejected(const std::vector<uint8_t>& msg, const std::string& fragment) {
  test::expect_error([&] { decode_wire(msg); }, {fragment});
}

// Rewrites the checksum so that only the field under test is wrong.
void reseal(std::vector<uint8_t>& m) {
  const uint32_t crc = crc32c(m.data() + wire_header_bytes, m.size() - wire_header_bytes, crc32c(m.data(), 48));
  for (int i = 0; i < 4; ++i) m[48 + i] = static_cast<uint8_t>(crc >> (8 * i));
}

TEST(Wire, RejectsEveryMalformedMessage) {
  const std::vector<uint8_t> good = sample();
  for (size_t n : {size_t{0}, size_t{1}, wire_header_bytes - 1})
    expect_rejected(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)), "shorter than");
  auto with = [&](size_t at, uint8_t v, bool seal = true) {
    std::vector<uint8_t> m = good;
    m[at] = v;
    if (seal) reseal(m);
    return m;
  };
  expect_rejected(with(0, 'X'), "bad magic");
  expect_rejected(with(8, 2), "version 2");
  expect_rejected(with(10, 99), "unknown codec id 99");
  expect_rejected(with(12, 17), "unknown dtype id 17");
  expect_rejected(with(14, 1), "reserved header bytes");
  expect_rejected(with(40, 81), "header says 81 payload bytes, the message holds 80");
  std::vector<uint8_t> truncated(good.begin(), good.end() - 1);
  expect_rejected(truncated, "holds 79");
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  expect_rejected(longer, "holds 81");
  expect_rejected(with(wire_header_bytes + 5, 0xEE, false), "checksum mismatch");
  expect_rejected(with(20, 0x01, false), "checksum mismatch");  // the count, unsealed
}

// The fuzzer's seed corpus (written by a separate encoder in Python) decodes here too.
TEST(Wire, SeedCorpusDecodes) {
  int files = 0;
  for (const auto& f : std::filesystem::directory_iterator(TANDEM_SOURCE_DIR "/compression/fuzz/corpus/wire")) {
    std::ifstream in(f.path(), std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    EXPECT_NO_THROW(decode_wire(bytes)) << f.path();
    ++files;
  }
  EXPECT_GE(files, 3);
}

}  // namespace
}  // namespace tandem::compression
