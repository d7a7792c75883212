// A run's data on the network's devices: each epoch's order of the training samples, and
// batches of samples by index, normalized by the training set's statistics, as f32
// [N, C, H, W] on the first layer's device with their i32 labels on the last layer's; token
// data as i32 [N, T] ids, masked afresh by a key, with per-token labels [N·T].
#pragma once

#include <cstdint>
#include <vector>

#include "tandem/nn/data.h"
#include "tandem/nn/model_file.h"
#include "tandem/nn/network.h"

namespace tandem::nn {

/// The order of an epoch's samples 0..count: it depends on (seed, epoch) alone, so a resumed
/// run sees the batches an unbroken one would.
std::vector<uint32_t> epoch_order(int64_t count, uint64_t seed, int epoch);

/// The keys token data is masked with: a training epoch's (each epoch masks afresh: RoBERTa's
/// dynamic masking) and evaluation's (one mask for the run, so that epochs compare).
inline uint64_t train_mask_key(uint64_t seed, int epoch) {
  return seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(epoch) + 1;
}
inline uint64_t eval_mask_key(uint64_t seed) { return (seed * 0x9e3779b97f4a7c15ull) ^ 0x6576616c6d61736bull; }

/// How many positions of samples idx[0..n) of token data the key masks (the tokens their loss
/// scores); for images, n. A step's pieces weigh by their share of the step's count, so the
/// step's loss is the mean over all its masked tokens however the step is split over ranks and pieces.
int64_t loss_terms(const Dataset& d, const uint32_t* idx, int64_t n, uint64_t mask_key);

class Batches {
 public:
  /// The normalization: the mean and standard deviation of every pixel of `train`.
  explicit Batches(const Dataset& train);
  const InputNorm& norm() const { return norm_; }
  /// Samples idx[0..n) of d into input() and labels(), on the devices of net. Token data is
  /// masked by mask_tokens with mask_key (the same key and sample: the same mask).
  void load(const Network& net, const Dataset& d, const uint32_t* idx, int64_t n, uint64_t mask_key = 0);
  /// Token data: the last load's labels on the host (ignore_label where no loss is taken).
  const std::vector<int32_t>& host_labels() const { return host_labels_; }
  const Tensor& input() const { return input_; }
  const Tensor& labels() const { return labels_; }

 private:
  InputNorm norm_;
  Tensor input_, labels_;
  std::vector<float> staging_;  // the normalized batch on the host
  std::vector<int32_t> host_labels_;
  void load_tokens(const Network& net, const Dataset& d, const uint32_t* idx, int64_t n, uint64_t mask_key);
};

}  // namespace tandem::nn
