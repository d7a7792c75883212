// Model descriptions: a JSON list of layers with their parameters, and the built-in models.
//   {"name": "mlp", "input": [1, 28, 28], "classes": 10,
//    "layers": [{"type": "linear", "out": 256}, {"type": "relu"}, ...]}
// Layer types: conv2d (out_channels, kernel, stride = 1, pad = 0), linear (out; flattens its
// input), relu, maxpool2d (kernel = 2, stride = kernel). Names default to type + index.
#pragma once

#include <string>
#include <vector>

#include "tandem/shape.h"

namespace tandem::nn {

enum class LayerType { conv2d, linear, relu, maxpool2d };

struct LayerSpec {
  LayerType type;
  std::string name;
  int64_t out = 0;  ///< output channels (conv2d) or features (linear)
  int kernel = 0, stride = 1, pad = 0;
};

/// A parameter of a layer: "conv1.weight" or "conv1.bias", its shape, and whether pruning
/// applies to it (weights of conv2d and linear layers, not biases).
struct ParamSpec {
  std::string name;
  Shape shape;
  bool prunable = false;
};

/// The parameters of layer `l` given its one-sample input shape, in order.
std::vector<ParamSpec> layer_params(const LayerSpec& l, const Shape& in);

struct ModelSpec {
  std::string name;
  Shape input;  ///< one sample: [C, H, W]
  int classes = 10;
  std::vector<LayerSpec> layers;

  /// Output shape of each layer for one sample (index i: after layer i). Throws Error naming
  /// the layer when shapes do not fit (a kernel larger than its input, a wrong final size).
  std::vector<Shape> shapes() const;
  /// Every parameter, in the order Network::params() lists them.
  std::vector<ParamSpec> params() const;
  /// Layer i's name, or "layer<i>" for an unnamed one: how messages, pins and reports name it.
  std::string layer_name(size_t i) const;
  std::vector<std::string> layer_names() const;
  std::string to_json() const;
};

/// Parses and checks a description; throws Error(invalid_argument) naming what is wrong
/// (bad JSON, an unknown layer type, a missing or out-of-range field, shapes that do not fit).
ModelSpec parse_model(const std::string& json_text, const std::string& origin = "model");
/// "mlp" (784-256-128-10) or "cnn" (the benchmark CNN for 28×28×1), or a path to a JSON file.
ModelSpec load_model(const std::string& name_or_path);

std::string_view layer_type_name(LayerType t);

}  // namespace tandem::nn
