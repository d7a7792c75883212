#include "payload_check.h"

#include <cmath>
#include <cstring>

#include "tandem/numeric/bitpack.h"

namespace tandem::compression {
namespace {

void check_scales(const Layout& L, const uint8_t* p, const std::string& op) {
  for (uint64_t c = 0; c < L.chunks; ++c) {
    float s;
    std::memcpy(&s, p + 4 * c, 4);
    if (!std::isfinite(s) || s < 0) bad(op, "scale of chunk " + std::to_string(c) + " is " + std::to_string(s));
  }
}

[[noreturn]] void bad_level(const Layout& L, uint64_t i, int level, const std::string& op) {
  bad(op,
      "level " + std::to_string(level) + " of element " + std::to_string(i) + " outside ±" + std::to_string(L.levels));
}

// Packed fields must not exceed 2·levels. Whole groups of 8 fields (W bytes) are tested with
// one OR-reduction; only a group that fails is unpacked to name the element.
template <int W>
void check_fields(const Layout& L, const uint8_t* p, const std::string& op) {
  const auto n = static_cast<int64_t>(L.n);
  const unsigned top = 2u * static_cast<unsigned>(L.levels);
  constexpr uint64_t mask = (uint64_t{1} << W) - 1;
  const int64_t full = n / 8;
  for (int64_t g = 0; g < full; ++g) {
    uint64_t acc = 0;
    std::memcpy(&acc, p + g * W, W);
    bool over = false;
    for (int j = 0; j < 8; ++j) over |= ((acc >> (j * W)) & mask) > top;
    if (over) {
      for (int j = 0; j < 8; ++j) {
        const auto field = static_cast<int>((acc >> (j * W)) & mask);
        if (field > static_cast<int>(top)) bad_level(L, static_cast<uint64_t>(8 * g + j), field - L.levels, op);
      }
    }
  }
  if (full * 8 < n) {
    uint8_t fields[8];
    const int count = static_cast<int>(n - full * 8);
    const uint64_t rest = numeric::unpack_group(p + full * W, count, W, fields);
    for (int j = 0; j < count; ++j)
      if (fields[j] > top) bad_level(L, static_cast<uint64_t>(8 * full + j), fields[j] - L.levels, op);
    if (rest != 0) bad(op, "padding bits of the last byte are not zero");
  }
}

void check_levels(const Layout& L, const uint8_t* p, const std::string& op) {
  const auto n = static_cast<int64_t>(L.n);
  if (L.width == 8) {
    if (L.levels == 127) {  // only -128 is out of range: memchr finds it at memory speed
      if (const void* hit = std::memchr(p, 0x80, static_cast<size_t>(n)))
        bad_level(L, static_cast<uint64_t>(static_cast<const uint8_t*>(hit) - p), -128, op);
      return;
    }
    for (int64_t i = 0; i < n; ++i) {
      const int q = static_cast<int8_t>(p[i]);
      if (q < -L.levels || q > L.levels) bad_level(L, static_cast<uint64_t>(i), q, op);
    }
    return;
  }
  numeric::with_width(L.width, [&](auto w) { check_fields<w>(L, p, op); });
}

void check_sign_padding(const Layout& L, const uint8_t* bits, const std::string& op) {
  const uint64_t n = L.n, last = (n + 7) / 8 - 1;
  if (n % 8 != 0 && (bits[last] >> (n % 8)) != 0) bad(op, "padding bits of the last byte are not zero");
}

void check_indices(const Layout& L, const uint8_t* p, const std::string& op) {
  int64_t previous = -1;
  for (uint64_t j = 0; j < L.pairs; ++j) {
    int32_t i;
    std::memcpy(&i, p + 4 * j, 4);
    if (i <= previous || static_cast<uint64_t>(i) >= L.n)
      bad(op, "index " + std::to_string(i) + " at position " + std::to_string(j) +
                  (i <= previous ? " does not increase" : " outside [0, " + std::to_string(L.n) + ")"));
    previous = i;
  }
}

void check_values(Codec codec, const Layout& L, std::span<const uint8_t> payload, const std::string& op) {
  const uint8_t* p = payload.data();
  switch (codec) {
    case Codec::int8:
    case Codec::qsgd:
    case Codec::terngrad:
      check_scales(L, p, op);
      check_levels(L, p + L.levels_at(), op);
      return;
    case Codec::sign:
      check_scales(L, p, op);
      check_sign_padding(L, p + L.levels_at(), op);
      return;
    case Codec::randomk:
    case Codec::topk:
    case Codec::topk_sampled:
      check_indices(L, p, op);
      return;
    default:  // raw floats: any bit pattern is a value
      return;
  }
}

}  // namespace

CheckedMessage check_message(std::span<const uint8_t> bytes) {
  CheckedMessage m{decode_wire(bytes), {}, {}};
  m.op = "decompress " + std::string(codec_name(m.wire.header.codec));
  if (m.wire.header.dtype != DType::f32) bad(m.op, "gradient dtype " + std::string(dtype_name(m.wire.header.dtype)));
  m.layout = layout_of(m.wire.header, m.op);
  if (m.wire.payload.size() != m.layout.bytes)
    bad(m.op, "payload of " + std::to_string(m.wire.payload.size()) + " bytes; " + std::to_string(m.layout.n) +
                  " elements need " + std::to_string(m.layout.bytes));
  check_values(m.wire.header.codec, m.layout, m.wire.payload, m.op);
  return m;
}

}  // namespace tandem::compression
