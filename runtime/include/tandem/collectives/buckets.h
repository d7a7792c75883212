// Gradient bucketing: gradients are packed, in the order the backward pass finishes them
// (reverse layer order), into flat buckets of about `bucket_bytes`, and each bucket is
// synchronized as one message. With the dense codec a full bucket's allreduce starts right away
// (non-blocking) and progresses while the backward pass computes earlier layers: communication
// overlaps computation. Compressed codecs synchronize each bucket through GradientSync once the
// backward pass ends (their encode runs on the bucket as a whole).
#pragma once

#include <memory>
#include <vector>

#include "tandem/collectives/gradient_sync.h"

namespace tandem::collectives {

class GradientBuckets {
 public:
  /// grads: every parameter gradient, in parameter order (the backward pass finishes them from
  /// the last to the first). All on one device.
  GradientBuckets(GradientSync& sync, std::vector<const Tensor*> grads, size_t bucket_bytes);

  /// Gradients [first, first + count) are final: copy them into their buckets, start any bucket
  /// that is now complete, and progress the ones in flight.
  void ready(Stream& s, size_t first, size_t count);
  /// Waits for every bucket, synchronizes the compressed ones, and writes the mean gradients
  /// back. step drives the codecs' random keys.
  void finish(Stream& s, uint64_t seed, uint32_t step);

  size_t buckets() const { return buckets_.size(); }
  size_t bucket_bytes() const { return bucket_bytes_; }
  /// The flat buffer of a bucket (its gradients in bucket order, after ready()).
  const Tensor& flat(size_t bucket) const { return buckets_.at(bucket).flat; }
  /// Gives one bucket its own codec (with its own error feedback): `--compress auto`.
  void set_codec(size_t bucket, compression::CodecSpec spec, bool error_feedback);
  compression::CodecSpec codec(size_t bucket) const;
  /// Payload bytes sent for all buckets so far.
  uint64_t bytes_sent() const;

 private:
  struct Bucket {
    Tensor flat;
    std::vector<size_t> members;  // parameter indices, in bucket order
    std::vector<int64_t> offsets;
    size_t filled = 0;
    uint64_t key_offset = 0;
    Request request;
    bool started = false;
    std::unique_ptr<GradientSync> own;  // a codec of its own (auto); else the shared sync
  };
  GradientSync& sync_of(Bucket& b) { return b.own ? *b.own : sync_; }
  bool dense(const Bucket& b) const;
  GradientSync& sync_;
  std::vector<const Tensor*> grads_;
  size_t bucket_bytes_;
  std::vector<Bucket> buckets_;
  std::vector<std::pair<size_t, size_t>> where_;  // parameter → (bucket, member)
};

/// The link between ranks as an alpha-beta model, from allreduces of 4 KB and 4 MB timed on
/// `comm` (the slowest rank's times, so every rank holds the same model). Collective.
struct LinkModel {
  double alpha = 0;  ///< seconds per collective
  double beta = 0;   ///< seconds per byte of an allreduce's payload
};
LinkModel measure_link(Communicator& comm);

/// A bucket size for this link: about ten latencies' worth of bytes at its bandwidth (so the
/// per-message cost stays under ~10%), from allreduces of 4 KB and 4 MB timed on `comm`;
/// clamped to [64 KB, 25 MB]. Collective: every rank calls it.
size_t auto_bucket_bytes(Communicator& comm);

}  // namespace tandem::collectives
