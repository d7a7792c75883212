// Gradient bucketing: gradients are packed, in the order the backward pass finishes them
// (reverse layer order), into flat buckets of about `bucket_bytes`, and each bucket is
// synchronized through its codec as one message. With overlap, a full bucket's synchronization
// starts right away as non-blocking collectives (encode, post; PowerSGD's second round and
// variable-size messages post their next round when progressed) and progresses while the
// backward pass computes earlier layers. Progress happens in the calls to ready() (as in MPI, a
// non-blocking collective advances inside MPI calls): no extra thread competes with backward
// for the cores. Without overlap, finish() synchronizes each bucket with blocking collectives,
// MPI's tuned algorithms, which are faster when there is nothing to overlap with.
#pragma once

#include <memory>
#include <vector>

#include "tandem/collectives/gradient_sync.h"

namespace tandem::collectives {

class GradientBuckets {
 public:
  /// grads: every parameter gradient, in parameter order (the backward pass finishes them from
  /// the last to the first). All on one device. Each bucket synchronizes through its own
  /// GradientSync (sync's codec and error feedback) on its own communicator, a dup of sync's:
  /// buckets in flight at once post their later rounds in whatever order they progress, and
  /// separate matching contexts keep every rank's collectives matched. Collective.
  /// seed and each step's number drive the codecs' random keys.
  GradientBuckets(GradientSync& sync, std::vector<const Tensor*> grads, size_t bucket_bytes, uint64_t seed,
                  bool overlap = true);

  /// Gradients [first, first + count) of this step are final: copy them into their buckets,
  /// start any bucket that is now complete (with overlap), and progress the ones in flight.
  void ready(Stream& s, uint32_t step, size_t first, size_t count);
  /// Completes every bucket's synchronization and writes the mean gradients back.
  void finish(Stream& s, uint32_t step);

  size_t buckets() const { return buckets_.size(); }
  size_t bucket_bytes() const { return bucket_bytes_; }
  /// The flat buffer of a bucket (its gradients in bucket order, after ready()).
  const Tensor& flat(size_t bucket) const { return buckets_.at(bucket).flat; }
  /// Gives one bucket another codec (with fresh error feedback): `--compress auto`.
  void set_codec(size_t bucket, compression::CodecSpec spec, bool error_feedback);
  compression::CodecSpec codec(size_t bucket) const { return buckets_.at(bucket).sync->spec(); }
  /// A bucket's synchronization (its state is tensor 0's: error feedback, codec).
  GradientSync& sync(size_t bucket) { return *buckets_.at(bucket).sync; }
  /// Payload bytes sent for all buckets so far.
  uint64_t bytes_sent() const { return sent_; }

 private:
  struct Bucket {
    Tensor flat;
    std::vector<size_t> members;  // parameter indices, in bucket order
    std::vector<int64_t> offsets;
    size_t filled = 0;
    uint64_t key_offset = 0;
    SyncRequest request;
    std::unique_ptr<GradientSync> sync;  // on the bucket's own communicator
  };
  void start(Stream& s, size_t bucket, uint32_t step);
  uint64_t seed_;
  uint64_t sent_ = 0;
  bool overlap_;
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
