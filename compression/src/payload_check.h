// Host-side validation of a payload's values before any of it reaches a device.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "layout.h"

namespace tandem::compression {

/// A message that passed every check: its header, payload and layout.
struct CheckedMessage {
  WireMessage wire;
  Layout layout;
  std::string op;  ///< "decompress <codec>", for later errors
};

/// Everything the decoder trusts about a message, checked on the host: the wire header and
/// checksum, an f32 gradient, the codec's parameters, the payload size, and the values —
/// scales finite and ≥ 0, levels within ±levels, padding bits zero, sparse indices increasing
/// and below n. Throws Error(invalid_argument) naming the first problem. (The fuzz target
/// compression/fuzz/fuzz_decode.cpp drives exactly this.)
CheckedMessage check_message(std::span<const uint8_t> bytes);

}  // namespace tandem::compression
