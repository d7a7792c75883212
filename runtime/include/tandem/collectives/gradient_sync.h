// Data-parallel gradient synchronization through a codec: after sync(), every rank's gradient
// is the mean over ranks of what the codec sends — the compressed allreduce.
//
//   none                 allreduce (f32)
//   fp16, bf16           allreduce of the 2-byte values, each reduction step in f32
//   powersgd             allreduce P, orthonormalize, allreduce Q (two rounds, rank r each)
//   int8 … topk_sampled  allgatherv of every rank's wire message, then decode-and-sum on the
//                        gradient's device (scales differ per rank; sparse index sets differ)
//
// Error feedback (per tensor, on the device) keeps what this rank's message dropped.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "tandem/collectives/communicator.h"
#include "tandem/compression/codec.h"
#include "tandem/compression/feedback.h"

namespace tandem::collectives {

/// A gradient synchronization in flight: rounds of collectives with the codec's work between
/// them (PowerSGD: P, then Q; variable-size messages: their sizes, then the messages). test()
/// progresses it without blocking and runs the next round once the current one is done.
class SyncRequest {
 public:
  SyncRequest() = default;
  /// True once the gradient holds the mean.
  bool test();
  void wait();

 private:
  friend class GradientSync;
  Request current_;
  std::vector<std::function<Request()>> rounds_;  // the work after each collective, in order
  size_t next_ = 0;
};

class GradientSync {
 public:
  GradientSync(std::shared_ptr<Communicator> comm, compression::CodecSpec spec, bool error_feedback);
  ~GradientSync();
  GradientSync(GradientSync&&) noexcept;
  GradientSync& operator=(GradientSync&&) noexcept;

  /// grad ← (1/size) Σ over ranks of decode(what rank r sends for its grad). Every rank calls
  /// it for the same tensors in the same order; `tensor` indexes per-tensor state (codec,
  /// residual). The key's rank field is set to this rank.
  void sync(Stream& s, const Tensor& grad, size_t tensor, numeric::RandomKey key) {
    begin(s, grad, tensor, key, true).wait();
  }
  /// The same as non-blocking collectives: encodes and posts the first round; the request runs
  /// the rest. grad must not be touched until it completes; one request per tensor at a time.
  SyncRequest start(Stream& s, const Tensor& grad, size_t tensor, numeric::RandomKey key) {
    return begin(s, grad, tensor, key, false);
  }

  /// Bytes this rank has put on the wire (payloads, not protocol overhead).
  uint64_t bytes_sent() const { return bytes_sent_; }
  /// Counts bytes sent on this sync's behalf by a caller that ran the collective itself.
  void count_sent(uint64_t bytes) { bytes_sent_ += bytes; }
  const compression::CodecSpec& spec() const { return spec_; }
  bool error_feedback() const { return error_feedback_; }
  /// Error-feedback residual and codec of a tensor (for checkpoints).
  compression::ErrorFeedback* feedback(size_t tensor);
  compression::GradientCodec& codec(size_t tensor);
  Communicator& comm() { return *comm_; }
  std::shared_ptr<Communicator> comm_ptr() const { return comm_; }

 private:
  struct PerTensor;
  std::shared_ptr<Communicator> comm_;
  compression::CodecSpec spec_;
  bool error_feedback_;
  std::vector<std::unique_ptr<PerTensor>> state_;
  uint64_t bytes_sent_ = 0;
  PerTensor& at(size_t tensor);
  // Blocking: MPI's blocking collectives (its tuned algorithms; nothing to overlap with).
  SyncRequest begin(Stream& s, const Tensor& grad, size_t tensor, numeric::RandomKey key, bool blocking);
  Request allreduce(Stream& s, const Tensor& t, bool blocking);
  Request allgather(Stream& s, const Tensor& send, const Tensor& recv, std::span<const int64_t> counts, bool blocking);
  void gather_after_sizes(PerTensor& t, int64_t mine, std::function<Request()> gather, bool blocking, SyncRequest& r);
  void gather_host_messages(Stream& s, const Tensor& grad, PerTensor& t, numeric::RandomKey key, bool blocking,
                            SyncRequest& r);
  void gather_device_payloads(Stream& s, const Tensor& grad, PerTensor& t, numeric::RandomKey key, bool blocking,
                              SyncRequest& r);
};

}  // namespace tandem::collectives
