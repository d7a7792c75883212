// A run's data on the network's devices: each epoch's order of the training samples, and
// batches of samples by index, normalized by the training set's statistics, as f32
// [N, C, H, W] on the first layer's device with their i32 labels on the last layer's.
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

class Batches {
 public:
  /// The normalization: the mean and standard deviation of every pixel of `train`.
  explicit Batches(const Dataset& train);
  const InputNorm& norm() const { return norm_; }
  /// Samples idx[0..n) of d into input() and labels(), on the devices of net.
  void load(const Network& net, const Dataset& d, const uint32_t* idx, int64_t n);
  const Tensor& input() const { return input_; }
  const Tensor& labels() const { return labels_; }

 private:
  InputNorm norm_;
  Tensor input_, labels_;
  std::vector<float> staging_;  // the normalized batch on the host
};

}  // namespace tandem::nn
