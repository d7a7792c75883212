// Helpers of the codec suites: test gradients and one-shot encode/decode.
#pragma once

#include <random>
#include <vector>

#include "tandem/compression/codec.h"
#include "tandem/tensor.h"

namespace tandem::compression {

/// n values from N(0, 0.01²), on the CPU.
inline Tensor gradient(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 0.01f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = g(rng);
  return Tensor::from_vector(cpu_device(), {n}, v);
}

/// The message a fresh codec makes (a copy: it outlives the codec).
inline std::vector<uint8_t> encode(Stream& s, const Tensor& g, const CodecSpec& spec, const RandomKey& key) {
  GradientCodec codec(spec);
  const std::span<const uint8_t> m = codec.compress(s, g, key);
  return {m.begin(), m.end()};
}

inline void decode(Stream& s, const std::vector<uint8_t>& message, const Tensor& out, bool accumulate = false) {
  GradientCodec(CodecSpec{}).decompress(s, message, out, accumulate);
}

/// Re-encodes a payload under a message's header, so that only the payload content is wrong.
inline std::vector<uint8_t> with_payload(const std::vector<uint8_t>& msg, const std::vector<uint8_t>& payload) {
  return encode_wire(decode_wire(msg).header, payload);
}

}  // namespace tandem::compression
