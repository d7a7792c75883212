// The built-in models: the two small ones of the first version (as JSON chains), the residual
// and depthwise-separable CNNs and the Vision Transformer for 28×28×1 inputs, and the BERT-style
// encoder, built here as graphs.
#include "builtin_models.h"

#include <charconv>
#include <functional>

#include "tandem/error.h"

namespace tandem::nn {
namespace {

const char* const mlp_json = R"({"name": "mlp", "input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "linear", "name": "fc1", "out": 256}, {"type": "relu"},
  {"type": "linear", "name": "fc2", "out": 128}, {"type": "relu"},
  {"type": "linear", "name": "fc3", "out": 10}]})";

// The CNN of the distributed-training benchmark literature, adapted to 28×28×1 inputs.
const char* const cnn_json = R"({"name": "cnn", "input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "conv2d", "name": "conv1", "out_channels": 16, "kernel": 3, "pad": 1}, {"type": "relu"},
  {"type": "maxpool2d", "kernel": 2},
  {"type": "conv2d", "name": "conv2", "out_channels": 32, "kernel": 3, "pad": 1}, {"type": "relu"},
  {"type": "maxpool2d", "kernel": 2},
  {"type": "linear", "name": "fc1", "out": 128}, {"type": "relu"},
  {"type": "linear", "name": "fc2", "out": 10}]})";

LayerSpec layer(LayerType type, const std::string& name) {
  LayerSpec l{};
  l.type = type, l.name = name;
  return l;
}

// Appends layers to a model, each reading the named nodes; returns the new node's name.
struct Builder {
  ModelSpec m;
  Builder(const std::string& name, Shape input, int classes) { m.name = name, m.input = input, m.classes = classes; }
  std::string add(LayerSpec l, std::vector<std::string> inputs) {
    l.inputs = std::move(inputs);
    m.layers.push_back(l);
    return l.name;
  }
  std::string conv(const std::string& name, const std::string& in, int64_t out, int kernel, int stride, int groups = 1) {
    LayerSpec l = layer(LayerType::conv2d, name);
    l.out = out, l.kernel = kernel, l.stride = stride, l.pad = kernel / 2;
    l.groups = groups, l.bias = false;  // a batch norm follows
    return add(l, {in});
  }
  std::string bn(const std::string& name, const std::string& in) { return add(layer(LayerType::batchnorm, name), {in}); }
  std::string relu(const std::string& name, const std::string& in) { return add(layer(LayerType::relu, name), {in}); }
  std::string conv_bn(const std::string& name, const std::string& in, int64_t out, int kernel, int stride, int groups = 1) {
    return bn(name + ".bn", conv(name, in, out, kernel, stride, groups));
  }
  std::string layernorm(const std::string& name, const std::string& in) { return add(layer(LayerType::layernorm, name), {in}); }
  // nn.Linear on the last dimension of a sequence.
  std::string token_linear(const std::string& name, const std::string& in, int64_t out) {
    LayerSpec l = layer(LayerType::linear, name);
    l.out = out, l.flatten = false;
    return add(l, {in});
  }
  // nn.TransformerEncoderLayer(norm_first = True, activation = "gelu", dropout = 0):
  // x + attn(norm1(x)), then x + linear2(gelu(linear1(norm2(x)))).
  std::string encoder_block(const std::string& n, const std::string& in, int64_t width, int heads, int64_t mlp) {
    LayerSpec att = layer(LayerType::attention, n + ".attn");
    att.heads = heads;
    const std::string a = add(att, {layernorm(n + ".norm1", in)});
    const std::string x = add(layer(LayerType::add, n + ".add1"), {in, a});
    const std::string h = add(layer(LayerType::gelu, n + ".gelu"), {token_linear(n + ".linear1", layernorm(n + ".norm2", x), mlp)});
    return add(layer(LayerType::add, n + ".add2"), {x, token_linear(n + ".linear2", h, width)});
  }
  void head(const std::string& in, int64_t classes) {
    const std::string pool = add(layer(LayerType::global_avgpool, "pool"), {in});
    LayerSpec fc = layer(LayerType::linear, "fc");
    fc.out = classes;
    add(fc, {pool});
  }
};

// He et al.'s CIFAR ResNet-20 on 1×28×28: three stages of three basic blocks, 16/32/64 channels;
// stages 2 and 3 start with stride 2 and a 1×1 projection shortcut.
ModelSpec resnet20() {
  Builder b("resnet20", {1, 28, 28}, 10);
  std::string x = b.relu("stem.relu", b.conv_bn("stem", "input", 16, 3, 1));
  int64_t channels = 16;
  for (int stage = 0; stage < 3; ++stage) {
    const int64_t out = 16 << stage;
    for (int block = 0; block < 3; ++block) {
      const std::string n = "layer" + std::to_string(stage + 1) + "." + std::to_string(block);
      const int stride = stage > 0 && block == 0 ? 2 : 1;
      const std::string h = b.relu(n + ".relu1", b.conv_bn(n + ".conv1", x, out, 3, stride));
      const std::string y = b.conv_bn(n + ".conv2", h, out, 3, 1);
      const std::string shortcut = stride == 1 && channels == out ? x : b.conv_bn(n + ".shortcut", x, out, 1, stride);
      x = b.relu(n + ".relu2", b.add(layer(LayerType::add, n + ".add"), {y, shortcut}));
      channels = out;
    }
  }
  b.head(x, 10);
  return b.m;
}

// A MobileNet-style network: a 3×3 stem, then depthwise-separable blocks (depthwise 3×3 + BN +
// ReLU, pointwise 1×1 + BN + ReLU).
ModelSpec mobilenet() {
  Builder b("mobilenet", {1, 28, 28}, 10);
  std::string x = b.relu("stem.relu", b.conv_bn("stem", "input", 32, 3, 1));
  const struct {
    int64_t in, out;
    int stride;
  } blocks[] = {{32, 64, 1}, {64, 128, 2}, {128, 128, 1}, {128, 256, 2}, {256, 256, 1}};
  int i = 0;
  for (const auto& blk : blocks) {
    const std::string n = "block" + std::to_string(++i);
    x = b.relu(n + ".dw.relu", b.conv_bn(n + ".dw", x, blk.in, 3, blk.stride, static_cast<int>(blk.in)));
    x = b.relu(n + ".pw.relu", b.conv_bn(n + ".pw", x, blk.out, 1, 1));
  }
  b.head(x, 10);
  return b.m;
}

// A Vision Transformer for 1×28×28: 4×4 patches (49 tokens and a class token), width 64, depth
// 6, 4 heads, MLP 128, pre-LayerNorm blocks with GELU (nn.TransformerEncoderLayer with
// norm_first = True, dropout 0), a learned position embedding, a final LayerNorm and a linear
// head on the class token. About 206 k parameters.
ModelSpec vit() {
  Builder b("vit", {1, 28, 28}, 10);
  constexpr int64_t width = 64, mlp = 128;
  LayerSpec patch = layer(LayerType::conv2d, "patch");
  patch.out = width, patch.kernel = 4, patch.stride = 4;
  std::string x = b.add(patch, {"input"});
  x = b.add(layer(LayerType::tokens, "tokens"), {x});
  x = b.add(layer(LayerType::class_token, "cls"), {x});
  x = b.add(layer(LayerType::position_embedding, "pos"), {x});
  for (int i = 0; i < 6; ++i) x = b.encoder_block("block" + std::to_string(i), x, width, 4, mlp);
  x = b.layernorm("norm", x);
  x = b.add(layer(LayerType::slice, "cls_out"), {x});  // token 0
  LayerSpec head = layer(LayerType::linear, "head");
  head.out = 10;
  b.add(head, {x});
  return b.m;
}

// A BERT-style encoder with a masked-token head: token embedding, learned position embedding,
// pre-LayerNorm blocks (as vit's), a final LayerNorm, then BERT's prediction head (a linear
// transform with GELU and LayerNorm, and a decoder to the vocabulary, not tied to the embedding).
ModelSpec encoder(const EncoderShape& e) {
  if (e.width % e.heads != 0)
    throw Error(ErrorKind::invalid_argument, "", "model encoder",
                std::to_string(e.heads) + " heads do not divide the width " + std::to_string(e.width));
  Builder b("encoder", Shape{e.seq}, static_cast<int>(e.vocab));
  b.m.vocab = e.vocab;
  LayerSpec embed = layer(LayerType::embedding, "embed");
  embed.out = e.width, embed.vocab = e.vocab;
  std::string x = b.add(embed, {"input"});
  LayerSpec pos = layer(LayerType::position_embedding, "pos");
  pos.positions = e.positions > 0 ? e.positions : e.seq;
  x = b.add(pos, {x});
  for (int i = 0; i < e.layers; ++i) x = b.encoder_block("block" + std::to_string(i), x, e.width, static_cast<int>(e.heads), e.mlp);
  x = b.layernorm("norm", x);
  x = b.add(layer(LayerType::gelu, "mlm.gelu"), {b.token_linear("mlm.transform", x, e.width)});
  b.token_linear("mlm.decoder", b.layernorm("mlm.norm", x), e.vocab);
  return b.m;
}

}  // namespace

// "encoder" or "encoder:key=value,...": the keys of EncoderShape.
std::optional<EncoderShape> encoder_shape(const std::string& name) {
  if (name != "encoder" && !name.starts_with("encoder:")) return std::nullopt;
  EncoderShape e;
  const struct {
    const char* key;
    int64_t* value;
    int64_t lo, hi;
  } keys[] = {{"vocab", &e.vocab, 2, 1 << 20}, {"seq", &e.seq, 1, 1 << 16}, {"width", &e.width, 1, 1 << 14},
              {"layers", &e.layers, 1, 256},   {"heads", &e.heads, 1, 1 << 10}, {"mlp", &e.mlp, 1, 1 << 16},
              {"positions", &e.positions, 0, 1 << 16}};
  std::string rest = name.size() > 8 ? name.substr(8) : "";
  std::string known;
  for (const auto& k : keys) known += (known.empty() ? "" : ", ") + std::string(k.key);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string item = rest.substr(0, comma);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    bool found = false;
    for (const auto& k : keys) {
      if (key != k.key) continue;
      found = true;
      const std::string v = eq == std::string::npos ? "" : item.substr(eq + 1);
      int64_t n = 0;
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (v.empty() || ec != std::errc() || end != v.data() + v.size() || n < k.lo || n > k.hi)
        throw Error(ErrorKind::invalid_argument, "", "model " + name,
                    key + " must be an integer in [" + std::to_string(k.lo) + ", " + std::to_string(k.hi) + "], given \"" + v + "\"");
      *k.value = n;
    }
    if (!found) throw Error(ErrorKind::invalid_argument, "", "model " + name, "unknown setting \"" + key + "\" (known: " + known + ")");
  }
  return e;
}

std::vector<std::string> builtin_model_names() { return {"mlp", "cnn", "resnet20", "mobilenet", "vit", "encoder"}; }

std::optional<ModelSpec> builtin_model(const std::string& name) {
  if (name == "mlp") return parse_model(mlp_json, "mlp");
  if (name == "cnn") return parse_model(cnn_json, "cnn");
  if (name == "resnet20") return parse_model(resnet20().to_json(), "resnet20");
  if (name == "mobilenet") return parse_model(mobilenet().to_json(), "mobilenet");
  if (name == "vit") return parse_model(vit().to_json(), "vit");
  if (const std::optional<EncoderShape> e = encoder_shape(name)) return parse_model(encoder(*e).to_json(), name);
  return std::nullopt;
}

}  // namespace tandem::nn
