// Gradient codecs as compositions of device ops. compress() runs the codec's ops on the
// stream of the gradient's device, then brings the payload to the host inside a wire message;
// decompress() validates a message completely, then rebuilds the gradient on any device.
//
// Built so far — dense codecs, aggregated by allreduce after decoding (payload bytes exact):
//   none               f32 × n                                   4n
//   fp16, bf16         2-byte floats                             2n
//   int8[:chunk]       per-chunk scale absmax/127, nearest       4⌈n/chunk⌉ + n
//   qsgd:s[:chunk]     per-chunk unit ‖x‖₂/s, stochastic, s≤127  4⌈n/chunk⌉ + n
//   terngrad[:chunk]   per-chunk unit absmax, stochastic, {−1,0,1}  4⌈n/chunk⌉ + n
//   sign[:chunk]       1 bit per element, per-chunk scale mean|x|   4⌈n/chunk⌉ + ⌈n/8⌉
//                      (EF-signSGD: use with ErrorFeedback)
// (QSGD and TernGrad levels travel as one byte each until the bit-packing primitive lands.)
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tandem/compression/philox.h"
#include "tandem/compression/wire.h"
#include "tandem/stream.h"
#include "tandem/tensor.h"

namespace tandem::compression {

struct CodecSpec {
  Codec codec = Codec::none;
  std::array<uint32_t, 4> params{};  ///< int8/terngrad: {chunk}; qsgd: {levels, chunk}
};

/// "none", "fp16", "bf16", "int8[:chunk]", "qsgd:levels[:chunk]", "terngrad[:chunk]",
/// "sign[:chunk]"; throws
/// Error naming the accepted forms otherwise.
CodecSpec parse_codec(const std::string& text);
std::string codec_string(const CodecSpec& spec);

/// Exact payload size for `count` elements.
uint64_t payload_bytes(const CodecSpec& spec, uint64_t count);

/// Encodes an f32 gradient (on any device) with the codec; `key` drives stochastic rounding.
std::vector<uint8_t> compress(Stream& s, const Tensor& grad, const CodecSpec& spec, const RandomKey& key);

/// Decodes a message into `out` (f32, same element count, on the stream's device). Checks the
/// wire header, the payload size for the codec, and every value (scales finite and ≥ 0, levels
/// within range) before writing; throws Error(invalid_argument) naming what is wrong.
void decompress(Stream& s, std::span<const uint8_t> message, const Tensor& out);

/// Error feedback (EF-SGD): what a codec drops from a gradient is kept on the gradient's device
/// and added to the next one before compression, so over the steps nothing is lost:
/// Σ decoded + residual = Σ gradients.
class ErrorFeedback {
 public:
  /// grad ← grad + residual, in place, before compressing it.
  void compensate(Stream& s, const Tensor& grad);
  /// residual ← compensated − decoded, where decoded is what the receivers reconstruct.
  void update(Stream& s, const Tensor& compensated, const Tensor& decoded);
  /// Sets the residual (from a checkpoint); copied onto `value`'s device.
  void restore(Stream& s, const Tensor& value);
  /// Zero until the first update; lives on the gradient's device.
  const Tensor& residual() const { return residual_; }

 private:
  Tensor residual_;
};

}  // namespace tandem::compression
