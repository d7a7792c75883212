// Where each part of a codec's payload lives, derived from the wire header alone — the one
// definition the encoder, the decoder and the size queries share.
#pragma once

#include <cstdint>
#include <string>

#include "tandem/compression/codec.h"

namespace tandem::compression {

struct Layout {
  uint64_t n = 0;                         ///< elements of the gradient
  uint32_t chunk = 0;                     ///< quantized, sign: elements per scale
  uint64_t chunks = 0;                    ///< quantized, sign: scales, f32, at the start of the payload
  int levels = 0;                         ///< quantized: q ∈ [−levels, levels]
  int width = 0;                          ///< quantized: bits per level (8: raw i8; else q + levels, packed)
  uint64_t pairs = 0;                     ///< sparse: i32 indices, then as many f32 values
  uint64_t rows = 0, cols = 0, rank = 0;  ///< powersgd: P [rows, rank], then Q [cols, rank]
  uint64_t bytes = 0;                     ///< payload total

  uint64_t levels_at() const { return 4 * chunks; }  ///< quantized, sign
  uint64_t values_at() const { return 4 * pairs; }   ///< sparse
  uint64_t q_at() const { return 4 * rows * rank; }  ///< powersgd
};

/// The most elements a message may describe (keeps every size computation far from overflow).
inline constexpr uint64_t max_wire_elements = uint64_t{1} << 48;

/// Checks the header's parameters (throwing Error(invalid_argument) prefixed with `op`) and
/// computes the layout.
Layout layout_of(const WireHeader& h, const std::string& op);

/// The header compress writes for this spec and shape (sparse: the target pair count).
WireHeader header_for(const CodecSpec& spec, const Shape& shape);

/// k = round(ratio·n), at least 1 and at most n.
uint64_t target_pairs(uint64_t n, uint32_t ppm);

[[noreturn]] void bad(const std::string& op, const std::string& what);

}  // namespace tandem::compression
