#include "tandem/compression/codec.h"

#include <cmath>
#include <cstring>

#include "tandem/error.h"
#include "tandem/ops.h"

namespace tandem::compression {
namespace {

[[noreturn]] void bad(const std::string& op, const std::string& what) {
  throw Error(ErrorKind::invalid_argument, "", op, what);
}

constexpr uint32_t default_chunk = 256;

// Codecs whose payload starts with one f32 scale per chunk of elements.
bool chunked(Codec c) { return c == Codec::int8 || c == Codec::qsgd || c == Codec::terngrad || c == Codec::sign; }
uint32_t chunk_of(const CodecSpec& s) { return s.codec == Codec::qsgd ? s.params[1] : s.params[0]; }
int levels_of(const CodecSpec& s) {
  return s.codec == Codec::int8 ? 127 : s.codec == Codec::qsgd ? static_cast<int>(s.params[0]) : 1;
}
uint64_t chunks(uint64_t n, uint32_t chunk) { return (n + chunk - 1) / chunk; }

uint32_t parse_u32(const std::string& text, const std::string& field, uint32_t lo, uint32_t hi) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(field.c_str(), &end, 10);
  if (field.empty() || *end != '\0' || v < lo || v > hi)
    bad("codec", "'" + text + "': '" + field + "' is not an integer in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
  return static_cast<uint32_t>(v);
}

}  // namespace

CodecSpec parse_codec(const std::string& text) {
  std::vector<std::string> f;
  for (size_t at = 0;;) {
    const size_t colon = text.find(':', at);
    f.push_back(text.substr(at, colon - at));
    if (colon == std::string::npos) break;
    at = colon + 1;
  }
  CodecSpec s;
  const std::string& name = f[0];
  const auto chunk_at = [&](size_t i) { return f.size() > i ? parse_u32(text, f[i], 1, 1u << 24) : default_chunk; };
  if (name == "none" && f.size() == 1) {
    s.codec = Codec::none;
  } else if (name == "fp16" && f.size() == 1) {
    s.codec = Codec::fp16;
  } else if (name == "bf16" && f.size() == 1) {
    s.codec = Codec::bf16;
  } else if (name == "int8" && f.size() <= 2) {
    s.codec = Codec::int8;
    s.params[0] = chunk_at(1);
  } else if (name == "terngrad" && f.size() <= 2) {
    s.codec = Codec::terngrad;
    s.params[0] = chunk_at(1);
  } else if (name == "sign" && f.size() <= 2) {
    s.codec = Codec::sign;
    s.params[0] = chunk_at(1);
  } else if (name == "qsgd" && (f.size() == 2 || f.size() == 3)) {
    s.codec = Codec::qsgd;
    s.params[0] = parse_u32(text, f[1], 1, 127);
    s.params[1] = chunk_at(2);
  } else {
    bad("codec",
        "'" + text +
            "' is not a codec (none, fp16, bf16, int8[:chunk], qsgd:levels[:chunk], terngrad[:chunk], sign[:chunk])");
  }
  return s;
}

std::string codec_string(const CodecSpec& s) {
  std::string out(codec_name(s.codec));
  if (s.codec == Codec::qsgd) out += ":" + std::to_string(s.params[0]);
  if (chunked(s.codec)) out += ":" + std::to_string(chunk_of(s));
  return out;
}

uint64_t payload_bytes(const CodecSpec& s, uint64_t n) {
  switch (s.codec) {
    case Codec::none:
      return 4 * n;
    case Codec::fp16:
    case Codec::bf16:
      return 2 * n;
    case Codec::int8:
    case Codec::qsgd:
    case Codec::terngrad:
      return 4 * chunks(n, chunk_of(s)) + n;
    case Codec::sign:
      return 4 * chunks(n, chunk_of(s)) + (n + 7) / 8;
    default:
      bad("codec", std::string(codec_name(s.codec)) + " is not implemented yet");
  }
}

std::vector<uint8_t> compress(Stream& st, const Tensor& grad, const CodecSpec& spec, const RandomKey& key) {
  if (grad.dtype() != DType::f32) bad("compress", "gradient " + grad.str() + " is not f32");
  const Device d = st.device();
  const int64_t n = grad.numel();
  const Tensor flat = grad.reshape({n});
  std::vector<uint8_t> payload(payload_bytes(spec, static_cast<uint64_t>(n)));
  if (spec.codec == Codec::none) {
    st.synchronize();
    flat.copy_to_host(payload.data());
  } else if (spec.codec == Codec::fp16 || spec.codec == Codec::bf16) {
    Tensor half = Tensor::empty(d, {n}, spec.codec == Codec::fp16 ? DType::f16 : DType::bf16);
    ops::cast(st, flat, half);
    st.synchronize();
    half.copy_to_host(payload.data());
  } else if (spec.codec == Codec::sign) {
    const uint32_t chunk = chunk_of(spec);
    const int64_t nc = static_cast<int64_t>(chunks(static_cast<uint64_t>(n), chunk));
    Tensor unit = Tensor::empty(d, {nc}), bits = Tensor::empty(d, {(n + 7) / 8}, DType::u8);
    ops::chunk_absmean(st, flat, unit, {chunk});
    ops::sign_pack(st, flat, bits);
    st.synchronize();
    unit.copy_to_host(payload.data());
    bits.copy_to_host(payload.data() + 4 * nc);
  } else {
    const uint32_t chunk = chunk_of(spec);
    const int levels = levels_of(spec);
    const int64_t nc = static_cast<int64_t>(chunks(static_cast<uint64_t>(n), chunk));
    Tensor unit = Tensor::empty(d, {nc}), q = Tensor::empty(d, {n}, DType::i8);
    if (spec.codec == Codec::qsgd)
      ops::chunk_norm2(st, flat, unit, {chunk});
    else
      ops::chunk_absmax(st, flat, unit, {chunk});
    ops::scale(st, 1.0f / static_cast<float>(levels), unit);
    ops::quantize(st, flat, unit, q, {chunk, levels, spec.codec != Codec::int8, key});
    st.synchronize();
    unit.copy_to_host(payload.data());
    q.copy_to_host(payload.data() + 4 * nc);
  }
  WireHeader h;
  h.codec = spec.codec;
  h.dtype = DType::f32;
  h.count = static_cast<uint64_t>(n);
  h.params = spec.params;
  return encode_wire(h, payload);
}

void decompress(Stream& st, std::span<const uint8_t> message, const Tensor& out) {
  const WireMessage m = decode_wire(message);
  const std::string op = "decompress " + std::string(codec_name(m.header.codec));
  if (out.dtype() != DType::f32 || static_cast<uint64_t>(out.numel()) != m.header.count)
    bad(op, "message holds " + std::to_string(m.header.count) + " elements; the output is " + out.str());
  CodecSpec spec{m.header.codec, m.header.params};
  if (chunked(spec.codec)) {
    const uint32_t chunk = chunk_of(spec);
    if (chunk == 0) bad(op, "chunk size 0");
    if (spec.codec == Codec::qsgd && (spec.params[0] < 1 || spec.params[0] > 127))
      bad(op, "levels " + std::to_string(spec.params[0]) + " outside [1, 127]");
  }
  const uint64_t want = payload_bytes(spec, m.header.count);
  if (m.payload.size() != want)
    bad(op, "payload of " + std::to_string(m.payload.size()) + " bytes; " + std::to_string(m.header.count) +
                " elements need " + std::to_string(want));
  const int64_t n = out.numel();
  const Tensor flat = out.reshape({n});
  const Device d = st.device();
  if (spec.codec == Codec::none) {
    flat.copy_from_host(m.payload.data());
  } else if (spec.codec == Codec::fp16 || spec.codec == Codec::bf16) {
    Tensor half = Tensor::from_host(d, {n}, spec.codec == Codec::fp16 ? DType::f16 : DType::bf16, m.payload.data());
    ops::cast(st, half, flat);
  } else {
    const uint32_t chunk = chunk_of(spec);
    const int64_t nc = static_cast<int64_t>(chunks(m.header.count, chunk));
    std::vector<float> unit(static_cast<size_t>(nc));
    std::memcpy(unit.data(), m.payload.data(), 4 * unit.size());
    for (size_t c = 0; c < unit.size(); ++c)
      if (!std::isfinite(unit[c]) || unit[c] < 0)
        bad(op, "scale of chunk " + std::to_string(c) + " is " + std::to_string(unit[c]));
    Tensor u = Tensor::from_host(d, {nc}, DType::f32, unit.data());
    if (spec.codec == Codec::sign) {
      const uint8_t* bits = m.payload.data() + 4 * nc;
      const int64_t nbytes = (n + 7) / 8;
      if (n % 8 != 0 && (bits[nbytes - 1] >> (n % 8)) != 0) bad(op, "padding bits of the last byte are not zero");
      ops::sign_unpack(st, Tensor::from_host(d, {nbytes}, DType::u8, bits), u, flat, {chunk});
      return;
    }
    const int levels = levels_of(spec);
    const auto* q = reinterpret_cast<const int8_t*>(m.payload.data() + 4 * nc);
    for (int64_t i = 0; i < n; ++i)
      if (q[i] < -levels || q[i] > levels)
        bad(op, "level " + std::to_string(q[i]) + " of element " + std::to_string(i) + " outside ±" +
                    std::to_string(levels));
    Tensor qt = Tensor::from_host(d, {n}, DType::i8, q);
    ops::dequantize(st, qt, u, flat, {chunk});
  }
}

void ErrorFeedback::compensate(Stream& s, const Tensor& grad) {
  if (!residual_) residual_ = Tensor::zeros(grad.device(), grad.shape());
  ops::add(s, grad, residual_, grad);
}

void ErrorFeedback::update(Stream& s, const Tensor& compensated, const Tensor& decoded) {
  if (!residual_) residual_ = Tensor::zeros(compensated.device(), compensated.shape());
  ops::cast(s, compensated, residual_);
  ops::axpy(s, -1.0f, decoded, residual_);
}

void ErrorFeedback::restore(Stream& s, const Tensor& value) {
  if (!residual_) residual_ = Tensor::empty(value.device(), value.shape());
  ops::cast(s, value, residual_);
}

}  // namespace tandem::compression
