// Gradient codecs as compositions of device ops. A GradientCodec runs its codec's ops on the
// stream of the gradient's device, writing the wire message in place (on a host-accessible
// device the message *is* that memory; otherwise one copy brings it to the host); decompress
// validates a message completely, then rebuilds — or adds — the gradient on any device.
//
//   codec               payload (exact bytes, n elements, c = ⌈n/chunk⌉)        aggregated by
//   none                f32 values                           4n                 allreduce
//   fp16, bf16          2-byte floats                        2n                 allreduce (f32 sums)
//   int8[:chunk]        scale absmax/127, nearest            4c + n             allgather
//   qsgd:s[:chunk]      scale ‖x‖₂/s, stochastic, w bits     4c + ⌈nw/8⌉        allgather
//   terngrad[:chunk]    scale absmax, stochastic, 2 bits     4c + ⌈n/4⌉         allgather
//   sign[:chunk]        1 bit, scale mean|x| (EF-signSGD)    4c + ⌈n/8⌉         allgather
//   randomk:ratio       k stratified picks, scaled: unbiased 8k                 allgather
//   topk:ratio          the k largest |x| (exact)            8k                 allgather
//   topk_sampled:ratio  |x| ≥ a threshold estimated from a   8m, m ≈ k          allgather
//                       sample (DGC): one pass, no sort
//   powersgd:rank       P [rows, r], Q [cols, r], warm start 4r(rows + cols)    allreduce (P, then Q)
//
// k = round(ratio·n) (at least 1); w = bits for 2s + 1 levels; sparse payloads are i32 indices
// (increasing) then f32 values; PowerSGD views the gradient as [shape[0], n / shape[0]] and
// r = min(rank, rows, cols).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "tandem/numeric/philox.h"
#include "tandem/compression/wire.h"
#include "tandem/stream.h"
#include "tandem/tensor.h"

namespace tandem::compression {

/// Codecs draw their random choices from the core's counter-based generator.
using numeric::RandomKey;

struct CodecSpec {
  Codec codec = Codec::none;
  /// int8, terngrad, sign: {chunk}; qsgd: {levels, chunk}; randomk, topk, topk_sampled:
  /// {ratio in parts per million}; powersgd: {rank}.
  std::array<uint32_t, 4> params{};
};

/// "none", "fp16", "bf16", "int8[:chunk]", "qsgd:levels[:chunk]", "terngrad[:chunk]",
/// "sign[:chunk]", "randomk:ratio", "topk:ratio", "topk_sampled:ratio", "powersgd:rank";
/// throws Error naming the accepted forms otherwise.
CodecSpec parse_codec(const std::string& text);
std::string codec_string(const CodecSpec& spec);

enum class PayloadKind { dense, quantized, sparse, low_rank };
enum class Aggregation {
  allreduce,  ///< payloads of all ranks sum element-wise as they are
  allgather,  ///< each rank's payload is decoded and the results summed (decompress(…, accumulate))
};

struct CodecTraits {
  PayloadKind payload;
  Aggregation aggregation;
  bool stochastic;  ///< output depends on the RandomKey
  bool stateful;    ///< keeps state between steps (PowerSGD's Q)
  bool exact_size;  ///< payload size known from the shape alone (all but topk_sampled)
};
CodecTraits codec_traits(Codec c);

/// Payload bytes for a gradient of this shape: exact, except for topk_sampled whose size
/// depends on the values (this gives its target size, k pairs).
uint64_t payload_bytes(const CodecSpec& spec, const Shape& shape);

/// PowerSGD's view of a gradient: a [rows, cols] matrix approximated with rank r.
struct LowRankShape {
  int64_t rows, cols, rank;
};

/// Encodes and decodes gradients with one codec, reusing its device scratch memory and message
/// buffer from call to call (so a steady training loop allocates nothing), and holding the
/// codec's state (PowerSGD's warm-started Q). One per gradient tensor; not thread-safe.
class GradientCodec {
 public:
  explicit GradientCodec(CodecSpec spec);
  ~GradientCodec();
  GradientCodec(GradientCodec&&) noexcept;
  GradientCodec& operator=(GradientCodec&&) noexcept;

  const CodecSpec& spec() const { return spec_; }

  /// Encodes an f32 gradient (on any device); `key` drives every random choice. The returned
  /// message stays valid until the next compress on this codec.
  std::span<const uint8_t> compress(Stream& s, const Tensor& grad, const RandomKey& key);

  /// Decodes a message of any codec into `out` (f32, the message's element count, on the
  /// stream's device), overwriting it or, with `accumulate`, adding to it. Checks the header,
  /// the payload size, and every value (scales finite and ≥ 0, levels in range, indices
  /// increasing and in range, padding bits zero) before anything is written; throws
  /// Error(invalid_argument) naming what is wrong.
  void decompress(Stream& s, std::span<const uint8_t> message, const Tensor& out, bool accumulate = false);

  /// The payload without the wire header, left in the gradient's device memory: what a
  /// communicator gathers between devices (NCCL) with no trip through the host. A u8 view at a
  /// multiple of 4 bytes, valid until the next encode or compress; the buffer behind it has room
  /// up to the next multiple of 8 bytes of payload (padding a gather may send).
  Tensor encode(Stream& s, const Tensor& grad, const RandomKey& key);
  /// Decodes a payload of this codec (encode's, from any rank with the same gradient shape) on
  /// the stream's device into `out`, overwriting or adding. Peer payloads carry no header or
  /// checksum (they never leave the job's device memory and links); their sizes are checked, and
  /// sparse indices are checked by scatter_add before anything is written.
  void decode(Stream& s, const Tensor& payload, const Tensor& out, bool accumulate = false);

  /// PowerSGD's Q [cols, r] after the last compress (empty before it and for other codecs);
  /// restore_state sets it (from a checkpoint, or the allreduced Q of a data-parallel step).
  Tensor state() const;
  void restore_state(Stream& s, const Tensor& q);

  /// PowerSGD in the phases a data-parallel step interleaves with two allreduces (compress()
  /// runs them back to back for one rank): p [rows, r] = M·Q (the warm start; then allreduce
  /// p); lowrank_q orthonormalizes p in place and sets q [cols, r] = Mᵀ·p (then allreduce q,
  /// and restore_state(q) as the next warm start); the result is p·qᵀ.
  LowRankShape lowrank_shape(const Shape& grad) const;
  void lowrank_p(Stream& s, const Tensor& grad, const RandomKey& key, const Tensor& p);
  void lowrank_q(Stream& s, const Tensor& grad, const Tensor& p, const Tensor& q);

 private:
  struct Workspace;
  void decode_payload(Stream& s, Codec codec, const struct Layout& L, const Buffer& buf, size_t base, const Tensor& out,
                      bool accumulate);
  CodecSpec spec_;
  std::unique_ptr<Workspace> ws_;
};

}  // namespace tandem::compression
