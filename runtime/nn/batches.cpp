#include "batches.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "tandem/file.h"

namespace tandem::nn {

std::vector<uint32_t> epoch_order(int64_t count, uint64_t seed, int epoch) {
  std::vector<uint32_t> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), 0u);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed * 1000003u + static_cast<uint64_t>(epoch)));
  return order;
}

Batches::Batches(const Dataset& train) {
  if (train.is_tokens()) return;  // ids: nothing to normalize
  double sum = 0, sq = 0;
  for (uint8_t v : train.images) sum += v, sq += double(v) * v;
  const double n = static_cast<double>(train.images.size());
  const double mean = sum / n, var = std::max(1e-12, sq / n - mean * mean);
  norm_.mean = static_cast<float>(mean / 255.0);
  norm_.scale = static_cast<float>(255.0 / std::sqrt(var));
}

void Batches::load(const Network& net, const Dataset& d, const uint32_t* idx, int64_t n, uint64_t mask_key) {
  if (d.is_tokens()) return load_tokens(net, d, idx, n, mask_key);
  const int64_t pixels = d.rows * d.cols;
  if (staging_.size() < static_cast<size_t>(n * pixels))
    staging_ = host_vector(static_cast<size_t>(n * pixels), 0.0f, "the training input staging");
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* img = d.images.data() + static_cast<int64_t>(idx[i]) * pixels;
    float* out = staging_.data() + i * pixels;
    for (int64_t k = 0; k < pixels; ++k) out[k] = (img[k] * (1.0f / 255.0f) - norm_.mean) * norm_.scale;
    labels[static_cast<size_t>(i)] = d.labels[idx[i]];
  }
  const Shape& sample = net.spec().input;
  const Shape in{n, sample[0], sample[1], sample[2]};
  if (!input_ || !(input_.shape() == in)) input_ = Tensor::empty(net.input_device(), in);
  if (!labels_ || labels_.shape()[0] != n) labels_ = Tensor::empty(net.output_device(), {n}, DType::i32);
  input_.copy_from_host(staging_.data());
  labels_.copy_from_host(labels.data());
}

int64_t loss_terms(const Dataset& d, const uint32_t* idx, int64_t n, uint64_t mask_key) {
  if (!d.is_tokens()) return n;
  const int64_t t = d.rows;
  std::vector<int32_t> ids(static_cast<size_t>(t)), labels(ids.size());
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i)
    count += mask_tokens(d.tokens.data() + static_cast<int64_t>(idx[i]) * t, t, d.classes, d.mask_id, mask_key, idx[i],
                         ids.data(), labels.data());
  return count;
}

void Batches::load_tokens(const Network& net, const Dataset& d, const uint32_t* idx, int64_t n, uint64_t mask_key) {
  const int64_t t = d.rows;
  std::vector<int32_t> ids(static_cast<size_t>(n * t)), labels(ids.size());
  for (int64_t i = 0; i < n; ++i)
    mask_tokens(d.tokens.data() + static_cast<int64_t>(idx[i]) * t, t, d.classes, d.mask_id, mask_key, idx[i],
                ids.data() + i * t, labels.data() + i * t);
  if (!input_ || !(input_.shape() == Shape{n, t})) input_ = Tensor::empty(net.input_device(), {n, t}, DType::i32);
  if (!labels_ || labels_.shape()[0] != n * t) labels_ = Tensor::empty(net.output_device(), {n * t}, DType::i32);
  input_.copy_from_host(ids.data());
  labels_.copy_from_host(labels.data());
  host_labels_ = std::move(labels);
}

}  // namespace tandem::nn
