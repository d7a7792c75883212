#include "tandem/dtype.h"

#include "tandem/numeric/half.h"

#include <bit>
#include <cstring>
#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include "tandem/error.h"

namespace tandem {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "f32";
    case DType::f16:
      return "f16";
    case DType::bf16:
      return "bf16";
    case DType::i8:
      return "i8";
    case DType::i32:
      return "i32";
    case DType::u8:
      return "u8";
  }
  return "?";
}

std::optional<DType> parse_dtype(std::string_view name) {
  for (DType t : {DType::f32, DType::f16, DType::bf16, DType::i8, DType::i32, DType::u8})
    if (dtype_name(t) == name) return t;
  return std::nullopt;
}

// One definition with the CUDA kernels (tandem/numeric/half.h).
uint16_t f32_to_f16(float x) { return numeric::f32_to_f16_bits(x); }
float f16_to_f32(uint16_t h) { return numeric::f16_bits_to_f32(h); }
uint16_t f32_to_bf16(float x) { return numeric::f32_to_bf16_bits(x); }
float bf16_to_f32(uint16_t h) { return numeric::bf16_bits_to_f32(h); }

namespace {

// Bulk f16 conversion with the F16C instructions where the CPU has them (every x86-64 CPU since
// 2013); they round to nearest even exactly as f32_to_f16 does. The build targets baseline
// x86-64, so these are compiled for F16C separately and chosen at run time.
#if defined(__x86_64__)
__attribute__((target("avx,f16c"))) size_t f16_to_f32_hw(const uint16_t* src, float* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  return i;
}

__attribute__((target("avx,f16c"))) size_t f32_to_f16_hw(const float* src, uint16_t* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  return i;
}

// CPUID leaf 1, ECX bit 29 (F16C); clang's __builtin_cpu_supports does not know "f16c".
bool have_f16c() {
  static const bool yes = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    return __get_cpuid(1, &a, &b, &c, &d) != 0 && (c & bit_F16C) != 0 && __builtin_cpu_supports("avx");
  }();
  return yes;
}
#else
size_t f16_to_f32_hw(const uint16_t*, float*, size_t) { return 0; }
size_t f32_to_f16_hw(const float*, uint16_t*, size_t) { return 0; }
bool have_f16c() { return false; }
#endif

// The loop of f32_to_bf16 over a buffer, written out with restrict pointers so it vectorizes.
void bf16_from_f32(const float* __restrict src, uint16_t* __restrict h, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t f = std::bit_cast<uint32_t>(src[i]);
    const uint32_t rounded = (f + 0x7fffu + ((f >> 16) & 1u)) >> 16;
    const uint32_t quiet_nan = (f >> 16) | 0x40u;
    h[i] = static_cast<uint16_t>((f & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
  }
}

}  // namespace

void to_f32(DType src_type, const void* src, float* dst, size_t n) {
  const auto* h = static_cast<const uint16_t*>(src);
  switch (src_type) {
    case DType::f32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::f16:
      for (size_t i = have_f16c() ? f16_to_f32_hw(h, dst, n) : 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
      return;
    case DType::bf16:
      for (size_t i = 0; i < n; ++i) dst[i] = std::bit_cast<float>(static_cast<uint32_t>(h[i]) << 16);
      return;
    default:
      throw Error(ErrorKind::invalid_argument, "", "to_f32",
                  "dtype " + std::string(dtype_name(src_type)) + " is not a floating type");
  }
}

int64_t first_non_finite(DType type, const void* data, size_t n) {
  // By the bits: every exponent bit set is NaN or ±Inf, in each floating format.
  const auto scan = [&](auto word, auto exponent) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
      std::memcpy(&word, bytes + i * sizeof word, sizeof word);
      if ((word & exponent) == exponent) return static_cast<int64_t>(i);
    }
    return int64_t{-1};
  };
  switch (type) {
    case DType::f32: return scan(uint32_t{}, uint32_t{0x7f800000});
    case DType::f16: return scan(uint16_t{}, uint16_t{0x7c00});
    case DType::bf16: return scan(uint16_t{}, uint16_t{0x7f80});
    default: return -1;
  }
}

void from_f32(DType dst_type, const float* src, void* dst, size_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  switch (dst_type) {
    case DType::f32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::f16:
      for (size_t i = have_f16c() ? f32_to_f16_hw(src, h, n) : 0; i < n; ++i) h[i] = f32_to_f16(src[i]);
      return;
    case DType::bf16:
      bf16_from_f32(src, h, n);
      return;
    default:
      throw Error(ErrorKind::invalid_argument, "", "from_f32",
                  "dtype " + std::string(dtype_name(dst_type)) + " is not a floating type");
  }
}

}  // namespace tandem
