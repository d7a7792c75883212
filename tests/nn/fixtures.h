// The small Fashion-MNIST sets and configurations the training tests share.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "tandem/nn/data.h"
#include "tandem/nn/network.h"
#include "tandem/nn/trainer.h"

namespace tandem::nn {

inline const Dataset& train_set() {
  static const Dataset d = head(load_mnist(default_fashion_mnist_dir, "train"), 1280);
  return d;
}
inline const Dataset& test_set() {
  static const Dataset d = head(load_mnist(default_fashion_mnist_dir, "t10k"), 1000);
  return d;
}

inline std::string temp_dir(const std::string& name) {
  const auto d = std::filesystem::temp_directory_path() / ("tandem-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  return d.string();
}

inline TrainConfig small(const std::string& model = "mlp") {
  TrainConfig c;
  c.model = model;
  c.epochs = 2;
  c.batch = 32;
  c.sgd.lr = 0.05f;
  c.seed = 7;
  return c;
}

/// The mean of the last five step losses is below `ratio` times the mean of the first five.
inline void expect_loss_fell(const std::vector<float>& losses, double ratio = 0.7) {
  double first = 0, last = 0;
  for (size_t i = 0; i < 5; ++i) first += losses[i], last += losses[losses.size() - 1 - i];
  EXPECT_LT(last, ratio * first) << "loss did not fall";
}

/// Every parameter's gradient in p->grad (from the last backward pass) against central
/// differences of loss() at about `per_param` elements of each.
inline void expect_gradients_match_differences(Network& net, const std::function<float()>& loss, size_t per_param) {
  for (Param* p : net.params()) {
    std::vector<float> w = p->value.to_f32();
    const std::vector<float> g = p->grad.to_f32();
    size_t bad = 0;
    for (size_t i = 0; i < w.size(); i += std::max<size_t>(1, w.size() / per_param)) {
      const float keep = w[i], eps = 1e-3f;
      w[i] = keep + eps, p->value.copy_from_host(w.data());
      const double plus = loss();
      w[i] = keep - eps, p->value.copy_from_host(w.data());
      const double minus = loss();
      w[i] = keep, p->value.copy_from_host(w.data());
      const double fd = (plus - minus) / (2.0 * eps);
      if (std::abs(fd - g[i]) > 5e-3 * (1.0 + std::abs(fd)) && bad++ < 3)
        ADD_FAILURE() << p->name << "[" << i << "]: autodiff " << g[i] << ", differences " << fd;
    }
    EXPECT_EQ(bad, 0u) << p->name;
  }
}

inline std::vector<std::vector<float>> weights(Trainer& t) {
  std::vector<std::vector<float>> out;
  for (Param* p : t.network().params()) out.push_back(p->value.to_f32());
  return out;
}

}  // namespace tandem::nn
