// The wire format of a compressed gradient: a fixed little-endian header, then the codec's
// payload. A strict decoder checks everything before any byte of the payload is trusted.
//
//   offset size field
//        0    8 magic "TNDMGRAD"
//        8    2 version (1)
//       10    2 codec id (Codec)
//       12    1 dtype of the original gradient (DType)
//       13    3 reserved, zero
//       16    8 element count of the original gradient
//       24   16 codec parameters: four u32 (meaning per codec; unused ones zero)
//       40    8 payload length in bytes
//       48    4 CRC-32C of bytes [0, 48) and of the payload
//       52    … payload
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "tandem/dtype.h"

namespace tandem::compression {

inline constexpr uint16_t wire_version = 1;
inline constexpr size_t wire_header_bytes = 52;

/// Every codec the format knows; ids are stable on the wire.
enum class Codec : uint16_t {
  none = 0,
  fp16 = 1,
  bf16 = 2,
  int8 = 3,
  qsgd = 4,
  sign = 5,
  terngrad = 6,
  randomk = 7,
  topk = 8,
  topk_sampled = 9,
  powersgd = 10,
};
inline constexpr uint16_t codec_count = 11;

std::string_view codec_name(Codec c);

struct WireHeader {
  Codec codec = Codec::none;
  DType dtype = DType::f32;
  uint64_t count = 0;
  std::array<uint32_t, 4> params{};
};

/// A decoded message: the header and a view of the payload inside the caller's buffer.
struct WireMessage {
  WireHeader header;
  std::span<const uint8_t> payload;
};

/// CRC-32C (Castagnoli), as iSCSI and ext4 use it; `crc` continues an earlier value.
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);

/// Header plus payload, ready to send.
std::vector<uint8_t> encode_wire(const WireHeader& h, std::span<const uint8_t> payload);
/// Writes the header (and checksum) into the first wire_header_bytes of a message whose payload
/// is already in place after them: encoding without copying the payload.
void seal_wire(const WireHeader& h, std::span<uint8_t> message);

/// Validates magic, version, codec id, dtype, reserved bytes, the payload length against the
/// buffer, and the checksum; throws Error(invalid_argument) saying which, never reading past
/// `bytes`. Codec-specific checks (payload size for the count, index ranges) are the codec's.
WireMessage decode_wire(std::span<const uint8_t> bytes);

}  // namespace tandem::compression
