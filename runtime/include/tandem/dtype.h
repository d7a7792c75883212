// Element types a tensor can hold, and conversions between them and f32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tandem {

/// Element type of a tensor. f16/bf16 are storage formats: CPU kernels compute in f32.
enum class DType : uint8_t { f32, f16, bf16, i8, i32, u8 };

/// Bytes per element.
constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32:
      return 4;
    case DType::i32:
      return 4;
    case DType::f16:
      return 2;
    case DType::bf16:
      return 2;
    case DType::i8:
      return 1;
    case DType::u8:
      return 1;
  }
  return 0;
}

/// True for f32, f16 and bf16.
constexpr bool is_floating(DType t) { return t == DType::f32 || t == DType::f16 || t == DType::bf16; }

/// "f32", "f16", "bf16", "i8", "i32", "u8".
std::string_view dtype_name(DType t);

/// Inverse of dtype_name; nullopt for an unknown name.
std::optional<DType> parse_dtype(std::string_view name);

/// IEEE binary16 from f32, rounding to nearest even; overflow gives ±inf, NaN stays NaN.
uint16_t f32_to_f16(float x);
float f16_to_f32(uint16_t h);
/// bfloat16 from f32, rounding to nearest even; NaN stays NaN.
uint16_t f32_to_bf16(float x);
float bf16_to_f32(uint16_t h);

/// Converts n elements of a floating type (f32, f16, bf16) to f32 and back.
void to_f32(DType src_type, const void* src, float* dst, size_t n);
void from_f32(DType dst_type, const float* src, void* dst, size_t n);

/// The index of the first of n elements that is NaN or ±Inf, or -1 when all are finite (and for
/// integer types, which have no such values).
int64_t first_non_finite(DType type, const void* data, size_t n);

}  // namespace tandem
