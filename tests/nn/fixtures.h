// The small Fashion-MNIST sets and configurations the training tests share.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tandem/nn/data.h"
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

inline std::vector<std::vector<float>> weights(Trainer& t) {
  std::vector<std::vector<float>> out;
  for (Param* p : t.network().params()) out.push_back(p->value.to_f32());
  return out;
}

}  // namespace tandem::nn
