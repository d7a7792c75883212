// Model descriptions: a graph of layers (nodes with named inputs, so branches and merges can be
// written) and the built-in models. Version 2 (what to_json writes):
//   {"format": "tandem-graph", "version": 2, "name": "res", "input": [1, 28, 28], "classes": 10,
//    "nodes": [{"name": "c1", "op": "conv2d", "out_channels": 8, "kernel": 3, "pad": 1},
//              {"name": "r1", "op": "relu"},
//              {"name": "c2", "op": "conv2d", "out_channels": 8, "kernel": 3, "pad": 1},
//              {"name": "sum", "op": "add", "inputs": ["r1", "c2"]}, ...]}
// A node's "inputs" name earlier or later nodes, or "input" (the model's input); without it a
// node reads the node listed before it. Nodes are sorted into an order that computes every
// input first (a cycle is an error naming a node on it); the last node in that order is the
// model's output, and every other node must feed some node. Version 1 (a "layers" list with
// "type", each reading the one before) still loads.
// Ops: conv2d (out_channels, kernel, stride = 1, pad = 0, dilation = 1, groups = 1, bias =
// true), linear (out; flattens its input), relu, maxpool2d and avgpool2d (kernel = 2, stride =
// kernel), global_avgpool ([C,H,W] -> [C]), batchnorm (eps = 1e-5, momentum = 0.1; batch
// statistics when training, running ones otherwise), dropout (p = 0.5; identity in inference),
// add (two inputs of one shape, or shapes that broadcast), flatten.
// Transformer ops (per sample, a sequence is [tokens, width]): tokens ([C,H,W] -> [H·W, C]: a
// feature map as a sequence), class_token (a learned token prepended: [T, D] -> [T+1, D]),
// position_embedding (a learned [T, D] added), layernorm (eps = 1e-5; over the last dimension),
// attention (heads; multi-head self-attention with its input and output projections, as
// PyTorch's nn.MultiheadAttention), gelu (approximate = "none" | "tanh"), tanh, sigmoid, slice
// (axis of the sample, start = 0, length = 1), and linear with "flatten": false (applied to the
// last dimension, as nn.Linear, instead of flattening the sample).
// Token models: "vocab": V at the top level makes the input token ids ([T] per sample, i32 in
// [0, V)); an embedding node (out: width) reads them ([T] -> [T, D]); position_embedding's
// "positions" sizes its table (default: the sequence's length; a longer sequence is refused by
// name, a shorter one uses the table's first rows). Their last node gives [T, classes] (a score
// per token: the masked-token loss) or [classes].
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tandem/shape.h"

namespace tandem::nn {

/// The label of a token that takes no loss (the masked-token loss scores only the masked ones):
/// PyTorch's ignore_index default.
inline constexpr int32_t ignore_label = -100;

enum class LayerType {
  conv2d, linear, relu, maxpool2d, add, flatten, batchnorm, avgpool2d, global_avgpool, dropout,
  tokens, class_token, position_embedding, layernorm, attention, gelu, tanh, sigmoid, slice, embedding
};

struct LayerSpec {
  LayerType type;
  std::string name;
  /// The nodes it reads, by name, or "input"; empty: the node before it (the input for the first).
  std::vector<std::string> inputs;
  int64_t out = 0;  ///< output channels (conv2d) or features (linear)
  int kernel = 0, stride = 1, pad = 0;
  int dilation = 1, groups = 1;  ///< conv2d
  bool bias = true;              ///< conv2d and linear
  float eps = 1e-5f, momentum = 0.1f;  ///< batchnorm
  float p = 0.5f;                      ///< dropout
  bool flatten = true;                 ///< linear: flatten the sample (false: the last dimension)
  int heads = 1;                       ///< attention
  bool tanh_approx = false;            ///< gelu: the tanh approximation
  int axis = 0;                        ///< slice: a dimension of the sample
  int64_t start = 0, length = 1;       ///< slice
  int64_t positions = 0;               ///< position_embedding: its table's rows (0: the sequence's length)
  int64_t vocab = 0;                   ///< embedding: its table's rows (the model's vocab unless given)
};

/// How a parameter starts: He-uniform (weights of conv2d and linear), zeros (biases, BN's beta
/// and running mean), ones (BN's and layer norm's gamma, running variance), Xavier-uniform
/// (attention's projections, as PyTorch's nn.MultiheadAttention) or N(0, 0.02²) truncated at
/// ±2σ (class token and position embedding, as ViT implementations).
enum class ParamInit { he_uniform, zeros, ones, xavier_uniform, normal_002 };

/// A parameter of a layer: "conv1.weight" or "conv1.bias", its shape, and whether pruning
/// applies to it (weights of conv2d and linear layers, not biases).
struct ParamSpec {
  std::string name;
  Shape shape;
  bool prunable = false;
  size_t layer = 0;  ///< the index of its layer
  ParamInit init = ParamInit::zeros;
  /// Not trained: state kept across steps (BN's running statistics), saved with the weights.
  bool buffer = false;
};

/// The parameters and buffers of layer `l` given its one-sample input shape, in order.
std::vector<ParamSpec> layer_params(const LayerSpec& l, const Shape& in);

struct ModelSpec {
  std::string name;
  Shape input;  ///< one sample: [C, H, W], or [T] token ids when vocab > 0
  int classes = 10;
  int64_t vocab = 0;  ///< > 0: the input is token ids in [0, vocab) (i32), read by embedding nodes
  bool token_input() const { return vocab > 0; }
  /// The last node scores every token ([T, classes]): the loss is per token (masked tokens).
  bool per_token_output() const;
  std::vector<LayerSpec> layers;  ///< in an order that computes every input first

  /// Per layer, the indices of the layers it reads (-1: the model's input).
  std::vector<std::vector<int>> sources() const;
  /// Output shape of each layer for one sample (index i: after layer i). Throws Error naming
  /// the layer when shapes do not fit (a kernel larger than its input, a wrong final size).
  std::vector<Shape> shapes() const;
  /// Every trained parameter, in the order Network::params() lists them.
  std::vector<ParamSpec> params() const;
  /// Every buffer (running statistics), in the order Network::buffers() lists them.
  std::vector<ParamSpec> buffers() const;
  /// Layer i's name, or "layer<i>" for an unnamed one: how messages, pins and reports name it.
  std::string layer_name(size_t i) const;
  std::vector<std::string> layer_names() const;
  /// The version-2 graph description.
  std::string to_json() const;
};

/// Parses and checks a description; throws Error(invalid_argument) naming what is wrong
/// (bad JSON, an unknown op, a missing or out-of-range field, an input no node gives, a cycle,
/// shapes that do not fit).
ModelSpec parse_model(const std::string& json_text, const std::string& origin = "model");
/// A built-in model — "mlp" (784-256-128-10), "cnn" (the benchmark CNN for 28×28×1),
/// "resnet20" (He et al.'s CIFAR ResNet-20 on 1×28×28, 272 k parameters), "mobilenet"
/// (depthwise-separable blocks, 135 k), "vit" (a Vision Transformer on 4×4 patches, 206 k) — or
/// a path to a JSON file.
ModelSpec load_model(const std::string& name_or_path);
/// The built-in encoder's shape: "encoder" is BERT-mini's (4 layers, width 256, 4 heads, MLP
/// 1024, sequence 128) with BERT's 30,522-token vocabulary; "encoder:vocab=258,seq=64,..." sets
/// any of them (positions: the position table's rows, default seq).
struct EncoderShape {
  int64_t vocab = 30522, seq = 128, width = 256, layers = 4, heads = 4, mlp = 1024, positions = 0;
};
/// The shape "encoder[:key=value,...]" names, or nullopt for another name; Error(invalid_argument)
/// naming a bad setting.
std::optional<EncoderShape> encoder_shape(const std::string& name);
/// The built-in models' names, in the order help texts list them.
std::vector<std::string> builtin_model_names();

std::string_view layer_type_name(LayerType t);

}  // namespace tandem::nn
