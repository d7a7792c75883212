// Codec names and parameters, traits, and payload layouts.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "layout.h"
#include "tandem/numeric/bitpack.h"
#include "tandem/error.h"

namespace tandem::compression {
namespace {

constexpr uint32_t default_chunk = 256;
constexpr uint32_t ppm_one = 1000000;

bool sparse(Codec c) { return c == Codec::randomk || c == Codec::topk || c == Codec::topk_sampled; }

uint32_t parse_u32(const std::string& text, const std::string& field, uint32_t lo, uint32_t hi) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(field.c_str(), &end, 10);
  if (field.empty() || *end != '\0' || v < lo || v > hi)
    bad("codec", "'" + text + "': '" + field + "' is not an integer in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
  return static_cast<uint32_t>(v);
}

// A ratio in (0, 1] as parts per million.
uint32_t parse_ratio(const std::string& text, const std::string& field) {
  char* end = nullptr;
  const double v = std::strtod(field.c_str(), &end);
  if (field.empty() || *end != '\0' || !(v > 0) || v > 1 || std::lround(v * ppm_one) < 1)
    bad("codec", "'" + text + "': '" + field + "' is not a ratio in [0.000001, 1]");
  return static_cast<uint32_t>(std::lround(v * ppm_one));
}

}  // namespace

void bad(const std::string& op, const std::string& what) { throw Error(ErrorKind::invalid_argument, "", op, what); }

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
  } else if ((name == "int8" || name == "terngrad" || name == "sign") && f.size() <= 2) {
    s.codec = name == "int8" ? Codec::int8 : name == "sign" ? Codec::sign : Codec::terngrad;
    s.params[0] = chunk_at(1);
  } else if (name == "qsgd" && (f.size() == 2 || f.size() == 3)) {
    s.codec = Codec::qsgd;
    s.params[0] = parse_u32(text, f[1], 1, 127);
    s.params[1] = chunk_at(2);
  } else if ((name == "randomk" || name == "topk" || name == "topk_sampled") && f.size() == 2) {
    s.codec = name == "randomk" ? Codec::randomk : name == "topk" ? Codec::topk : Codec::topk_sampled;
    s.params[0] = parse_ratio(text, f[1]);
  } else if (name == "powersgd" && f.size() == 2) {
    s.codec = Codec::powersgd;
    s.params[0] = parse_u32(text, f[1], 1, 1024);
  } else {
    bad("codec", "'" + text +
                     "' is not a codec (none, fp16, bf16, int8[:chunk], qsgd:levels[:chunk], terngrad[:chunk], "
                     "sign[:chunk], randomk:ratio, topk:ratio, topk_sampled:ratio, powersgd:rank)");
  }
  return s;
}

std::string codec_string(const CodecSpec& s) {
  std::string out(codec_name(s.codec));
  if (s.codec == Codec::qsgd) out += ":" + std::to_string(s.params[0]) + ":" + std::to_string(s.params[1]);
  if (s.codec == Codec::int8 || s.codec == Codec::terngrad || s.codec == Codec::sign)
    out += ":" + std::to_string(s.params[0]);
  if (sparse(s.codec)) {
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%g", s.params[0] / double(ppm_one));
    out += std::string(":") + ratio;
  }
  if (s.codec == Codec::powersgd) out += ":" + std::to_string(s.params[0]);
  return out;
}

CodecTraits codec_traits(Codec c) {
  switch (c) {
    case Codec::none:
    case Codec::fp16:
    case Codec::bf16:
      return {PayloadKind::dense, Aggregation::allreduce, false, false, true};
    case Codec::int8:
      return {PayloadKind::quantized, Aggregation::allgather, false, false, true};
    case Codec::qsgd:
    case Codec::terngrad:
      return {PayloadKind::quantized, Aggregation::allgather, true, false, true};
    case Codec::sign:
      return {PayloadKind::quantized, Aggregation::allgather, false, false, true};
    case Codec::randomk:
      return {PayloadKind::sparse, Aggregation::allgather, true, false, true};
    case Codec::topk:
      return {PayloadKind::sparse, Aggregation::allgather, false, false, true};
    case Codec::topk_sampled:
      return {PayloadKind::sparse, Aggregation::allgather, true, false, false};
    case Codec::powersgd:
      return {PayloadKind::low_rank, Aggregation::allreduce, false, true, true};
  }
  bad("codec", "unknown codec id " + std::to_string(static_cast<int>(c)));
}

uint64_t target_pairs(uint64_t n, uint32_t ppm) {
  const uint64_t k = (n * ppm + ppm_one / 2) / ppm_one;
  return std::min(n, std::max<uint64_t>(1, k));
}

WireHeader header_for(const CodecSpec& spec, const Shape& shape) {
  WireHeader h;
  h.codec = spec.codec;
  h.dtype = DType::f32;
  h.count = static_cast<uint64_t>(shape.numel());
  h.params = spec.params;
  if (sparse(spec.codec))
    h.params[1] = static_cast<uint32_t>(std::min<uint64_t>(target_pairs(h.count, spec.params[0]), ~0u));
  if (spec.codec == Codec::powersgd)
    h.params[1] = shape.rank() > 1 ? static_cast<uint32_t>(std::min<int64_t>(shape[0], ~0u)) : 1;
  return h;
}

Layout layout_of(const WireHeader& h, const std::string& op) {
  Layout L;
  L.n = h.count;
  if (L.n == 0) bad(op, "the gradient has no elements");
  if (L.n > max_wire_elements) bad(op, std::to_string(L.n) + " elements is more than a message may hold");
  const auto& p = h.params;
  const auto unused_from = [&](size_t i) {
    for (; i < p.size(); ++i)
      if (p[i] != 0) bad(op, "codec parameter " + std::to_string(i) + " is " + std::to_string(p[i]) + ", not 0");
  };
  switch (h.codec) {
    case Codec::none:
      unused_from(0);
      L.bytes = 4 * L.n;
      break;
    case Codec::fp16:
    case Codec::bf16:
      unused_from(0);
      L.bytes = 2 * L.n;
      break;
    case Codec::int8:
    case Codec::qsgd:
    case Codec::terngrad:
    case Codec::sign: {
      const bool qsgd = h.codec == Codec::qsgd;
      L.chunk = qsgd ? p[1] : p[0];
      unused_from(qsgd ? 2 : 1);
      if (L.chunk == 0) bad(op, "chunk size 0");
      L.chunks = (L.n + L.chunk - 1) / L.chunk;
      if (h.codec == Codec::sign) {
        L.bytes = 4 * L.chunks + (L.n + 7) / 8;
        break;
      }
      L.levels = h.codec == Codec::int8 ? 127 : qsgd ? static_cast<int>(p[0]) : 1;
      if (L.levels < 1 || L.levels > 127) bad(op, "levels " + std::to_string(p[0]) + " outside [1, 127]");
      L.width = numeric::field_width(2 * static_cast<uint32_t>(L.levels));
      if (L.width >= 8) L.width = 8;
      L.bytes = 4 * L.chunks + static_cast<uint64_t>(numeric::packed_bytes(static_cast<int64_t>(L.n), L.width));
      break;
    }
    case Codec::randomk:
    case Codec::topk:
    case Codec::topk_sampled:
      unused_from(2);
      if (p[0] < 1 || p[0] > ppm_one) bad(op, "ratio of " + std::to_string(p[0]) + " ppm outside [1, 1000000]");
      L.pairs = p[1];
      if (L.n > uint64_t{0x7fffffff}) bad(op, std::to_string(L.n) + " elements cannot be indexed by i32");
      if (h.codec != Codec::topk_sampled && L.pairs != target_pairs(L.n, p[0]))
        bad(op, std::to_string(L.pairs) + " pairs; ratio " + std::to_string(p[0]) + " ppm of " + std::to_string(L.n) +
                    " elements gives " + std::to_string(target_pairs(L.n, p[0])));
      if (L.pairs > L.n) bad(op, std::to_string(L.pairs) + " pairs for " + std::to_string(L.n) + " elements");
      L.bytes = 8 * L.pairs;
      break;
    case Codec::powersgd:
      unused_from(2);
      if (p[0] < 1) bad(op, "rank 0");
      L.rows = p[1];
      if (L.rows == 0 || L.n % L.rows != 0)
        bad(op, std::to_string(L.rows) + " rows do not divide " + std::to_string(L.n) + " elements");
      L.cols = L.n / L.rows;
      L.rank = std::min({uint64_t{p[0]}, L.rows, L.cols});
      L.bytes = 4 * L.rank * (L.rows + L.cols);  // r ≤ min(rows, cols): at most 8n bytes
      break;
    default:
      bad(op, "unknown codec id " + std::to_string(static_cast<int>(h.codec)));
  }
  return L;
}

uint64_t payload_bytes(const CodecSpec& spec, const Shape& shape) {
  return layout_of(header_for(spec, shape), "codec " + codec_string(spec)).bytes;
}

}  // namespace tandem::compression
