// f16 / bf16 conversions: exhaustive round trips and IEEE rounding at the edges.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "tandem/dtype.h"

namespace tandem {
namespace {

TEST(DType, SizesAndNames) {
  EXPECT_EQ(dtype_size(DType::f32), 4u);
  EXPECT_EQ(dtype_size(DType::bf16), 2u);
  EXPECT_EQ(dtype_size(DType::u8), 1u);
  for (DType t : {DType::f32, DType::f16, DType::bf16, DType::i8, DType::i32, DType::u8})
    EXPECT_EQ(parse_dtype(dtype_name(t)), t);
  EXPECT_FALSE(parse_dtype("f64").has_value());
}

TEST(DType, EveryF16ValueSurvivesARoundTrip) {
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f)))) << std::hex << h;
      continue;
    }
    EXPECT_EQ(f32_to_f16(f), h) << "f16 bits 0x" << std::hex << h << " → " << f;
  }
}

TEST(DType, F16KnownValues) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));         // smallest subnormal
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);                      // rounds down to max
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);                      // rounds up to inf
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);         // exact half of the smallest: ties to even (0)
  EXPECT_EQ(f32_to_f16(std::ldexp(1.5f, -25)), 0x0001);         // above half: rounds up
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);         // 1.5 × smallest: ties to even (2)
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // halfway between 1 and next: even
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(3.0f, -11)), 0x3c02);  // halfway, odd below: up
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
}

TEST(DType, Bf16RoundsToNearestEven) {
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    const float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (!std::isnan(f)) {
      EXPECT_EQ(f32_to_bf16(f), h);
    }
  }
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f808000u)), 0x3f80);  // tie, even below
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f818000u)), 0x3f82);  // tie, odd below
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f808001u)), 0x3f81);  // above the tie
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

// The bulk conversions may take a hardware path (F16C): they must agree with the scalar ones
// bit for bit on every f16 value and on f32 values that round in every way.
TEST(DType, BulkConversionsMatchScalar) {
  std::vector<uint16_t> all(0x10000);
  for (uint32_t h = 0; h < 0x10000u; ++h) all[h] = static_cast<uint16_t>(h);
  std::vector<float> wide(all.size());
  to_f32(DType::f16, all.data(), wide.data(), all.size());
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (!std::isnan(f)) {
      ASSERT_EQ(std::bit_cast<uint32_t>(wide[h]), std::bit_cast<uint32_t>(f)) << std::hex << h;
    }
  }
  std::vector<float> f32s;
  for (uint32_t bits = 0; bits < 0xffffffffu - 9973u; bits += 9973u) {
    const float f = std::bit_cast<float>(bits);
    if (!std::isnan(f)) f32s.push_back(f);
  }
  for (DType t : {DType::f16, DType::bf16}) {
    std::vector<uint16_t> narrow(f32s.size());
    from_f32(t, f32s.data(), narrow.data(), f32s.size());
    for (size_t i = 0; i < f32s.size(); ++i)
      ASSERT_EQ(narrow[i], t == DType::f16 ? f32_to_f16(f32s[i]) : f32_to_bf16(f32s[i])) << f32s[i];
  }
}

TEST(DType, BulkConversionRejectsIntegers) {
  int32_t in[2] = {1, 2};
  float out[2];
  EXPECT_THROW(to_f32(DType::i32, in, out, 2), std::exception);
}

}  // namespace
}  // namespace tandem
