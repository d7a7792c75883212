// Fixed-width bit fields: element i's field occupies bits [i·w, (i+1)·w) of a little-endian
// bit stream, so every group of 8 elements fills exactly w bytes and groups pack independently
// (one group per thread or lane). Header-only and free of library calls, like philox.h, so the
// CPU kernels, CUDA kernels, HLS cores and the host-side decoder share one definition.
#pragma once

#include <cstdint>
#include <type_traits>

namespace tandem::numeric {

/// Bytes holding n fields of `width` bits (1..8).
constexpr int64_t packed_bytes(int64_t n, int width) { return (n * width + 7) / 8; }

/// Bits needed for the values 0 .. max_field.
constexpr int field_width(uint32_t max_field) {
  int w = 1;
  while ((max_field >> w) != 0) ++w;
  return w;
}

/// Calls f(std::integral_constant<int, W>{}) for W = width (1..8; more counts as 8), so that code
/// over fields can make the width a compile-time constant: the shifts and byte counts fold.
template <class F>
constexpr decltype(auto) with_width(int width, F&& f) {
  switch (width) {
    case 1:
      return f(std::integral_constant<int, 1>{});
    case 2:
      return f(std::integral_constant<int, 2>{});
    case 3:
      return f(std::integral_constant<int, 3>{});
    case 4:
      return f(std::integral_constant<int, 4>{});
    case 5:
      return f(std::integral_constant<int, 5>{});
    case 6:
      return f(std::integral_constant<int, 6>{});
    case 7:
      return f(std::integral_constant<int, 7>{});
    default:
      return f(std::integral_constant<int, 8>{});
  }
}

/// Packs `count` (≤ 8) fields, each < 2^width, into packed_bytes(count, width) bytes at out.
constexpr void pack_group(const uint8_t* fields, int count, int width, uint8_t* out) {
  uint64_t acc = 0;
  for (int j = 0; j < count; ++j) acc |= static_cast<uint64_t>(fields[j]) << (j * width);
  for (int64_t b = 0; b < packed_bytes(count, width); ++b) out[b] = static_cast<uint8_t>(acc >> (8 * b));
}

/// Reads `count` (≤ 8) fields of `width` bits from packed_bytes(count, width) bytes at in.
/// Returns the bits above the last field (zero in a well-formed stream).
constexpr uint64_t unpack_group(const uint8_t* in, int count, int width, uint8_t* fields) {
  uint64_t acc = 0;
  const int64_t bytes = packed_bytes(count, width);
  for (int64_t b = 0; b < bytes; ++b) acc |= static_cast<uint64_t>(in[b]) << (8 * b);
  const uint64_t mask = (uint64_t{1} << width) - 1;
  for (int j = 0; j < count; ++j) fields[j] = static_cast<uint8_t>((acc >> (j * width)) & mask);
  return count * width >= 64 ? 0 : acc >> (count * width);
}

}  // namespace tandem::numeric
