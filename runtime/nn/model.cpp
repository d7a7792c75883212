#include "tandem/nn/model.h"

#include <unistd.h>

#include <map>

#include <nlohmann/json.hpp>

#include "tandem/error.h"
#include "tandem/file.h"
#include "tandem/json_read.h"
#include "builtin_models.h"
#include "lower.h"
#include "tandem/graph/graph.h"
#include "tandem/ops.h"

namespace tandem::nn {
namespace {

// A model description is a few hundred bytes per layer: larger is not one.
constexpr uint64_t max_model_json_bytes = 16u << 20;

using nlohmann::json;

[[noreturn]] void bad(const std::string& origin, const std::string& what) {
  throw Error(ErrorKind::invalid_argument, "", "model " + origin, what);
}

// An integer field in [lo, hi], or `fallback` when absent (fallback < lo means required).
int64_t field(const json& j, const char* key, int64_t lo, int64_t hi, int64_t fallback, const std::string& where,
              const std::string& origin) {
  if (!j.contains(key)) {
    if (fallback < lo) bad(origin, where + ": missing \"" + key + "\"");
    return fallback;
  }
  const std::optional<int64_t> i = json_integer<int64_t>(j[key]);
  if (!i) bad(origin, where + ": \"" + key + "\" must be an integer");
  const int64_t v = *i;
  if (v < lo || v > hi)
    bad(origin, where + ": \"" + key + "\" = " + std::to_string(v) + " outside [" + std::to_string(lo) + ", " +
                    std::to_string(hi) + "]");
  return v;
}

}  // namespace

namespace {

constexpr std::pair<LayerType, const char*> layer_types[] = {
    {LayerType::conv2d, "conv2d"}, {LayerType::linear, "linear"},   {LayerType::relu, "relu"},
    {LayerType::maxpool2d, "maxpool2d"}, {LayerType::add, "add"}, {LayerType::flatten, "flatten"},
    {LayerType::batchnorm, "batchnorm"}, {LayerType::avgpool2d, "avgpool2d"}, {LayerType::global_avgpool, "global_avgpool"},
    {LayerType::dropout, "dropout"}, {LayerType::tokens, "tokens"}, {LayerType::class_token, "class_token"},
    {LayerType::position_embedding, "position_embedding"}, {LayerType::layernorm, "layernorm"},
    {LayerType::attention, "attention"}, {LayerType::gelu, "gelu"}, {LayerType::tanh, "tanh"},
    {LayerType::sigmoid, "sigmoid"}, {LayerType::slice, "slice"}, {LayerType::embedding, "embedding"}};

// A number field in [lo, hi], or `fallback` when absent.
float real_field(const json& j, const char* key, double lo, double hi, float fallback, const std::string& where,
                 const std::string& origin) {
  if (!j.contains(key)) return fallback;
  if (!j[key].is_number()) bad(origin, where + ": \"" + key + "\" must be a number");
  const double v = j[key].get<double>();
  if (!(v >= lo && v <= hi))
    bad(origin, where + ": \"" + key + "\" = " + std::to_string(v) + " outside [" + std::to_string(lo) + ", " +
                    std::to_string(hi) + "]");
  return static_cast<float>(v);
}

std::string known_types() {
  std::string s;
  for (const auto& [t, n] : layer_types) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

size_t input_count(LayerType t) { return t == LayerType::add ? 2 : 1; }

// One node of either version: its fields, checked.
LayerSpec parse_layer(const json& lj, const std::string& type, const std::string& where, const std::string& origin) {
  LayerSpec l{};
  bool known = false;
  for (const auto& [t, n] : layer_types)
    if (type == n) l.type = t, known = true;
  if (!known) bad(origin, where + ": unknown type \"" + type + "\" (known: " + known_types() + ")");
  switch (l.type) {
    case LayerType::conv2d:
      l.out = field(lj, "out_channels", 1, 1 << 16, -1, where, origin);
      l.kernel = static_cast<int>(field(lj, "kernel", 1, 64, -1, where, origin));
      l.stride = static_cast<int>(field(lj, "stride", 1, 64, 1, where, origin));
      l.pad = static_cast<int>(field(lj, "pad", 0, 64, 0, where, origin));
      l.dilation = static_cast<int>(field(lj, "dilation", 1, 64, 1, where, origin));
      l.groups = static_cast<int>(field(lj, "groups", 1, 1 << 16, 1, where, origin));
      if (l.out % l.groups != 0) bad(origin, where + ": out_channels must divide into \"groups\"");
      break;
    case LayerType::linear:
      l.out = field(lj, "out", 1, 1 << 24, -1, where, origin);
      if (lj.contains("flatten")) {
        if (!lj["flatten"].is_boolean()) bad(origin, where + ": \"flatten\" must be true or false");
        l.flatten = lj["flatten"].get<bool>();
      }
      break;
    case LayerType::layernorm:
      l.eps = real_field(lj, "eps", 0.0, 1.0, 1e-5f, where, origin);
      break;
    case LayerType::attention:
      l.heads = static_cast<int>(field(lj, "heads", 1, 1 << 12, -1, where, origin));
      break;
    case LayerType::gelu: {
      const std::string a = lj.value("approximate", std::string("none"));
      if (lj.contains("approximate") && !lj["approximate"].is_string()) bad(origin, where + ": \"approximate\" must be \"none\" or \"tanh\"");
      if (a != "none" && a != "tanh") bad(origin, where + ": \"approximate\" = \"" + a + "\" is not \"none\" or \"tanh\"");
      l.tanh_approx = a == "tanh";
      break;
    }
    case LayerType::slice:
      l.axis = static_cast<int>(field(lj, "axis", 0, Shape::max_rank - 2, 0, where, origin));
      l.start = field(lj, "start", 0, 1 << 30, 0, where, origin);
      l.length = field(lj, "length", 1, 1 << 30, 1, where, origin);
      break;
    case LayerType::embedding:
      l.out = field(lj, "out", 1, 1 << 16, -1, where, origin);
      if (lj.contains("vocab")) l.vocab = field(lj, "vocab", 1, 1 << 24, 0, where, origin);  // else the model's
      break;
    case LayerType::position_embedding:
      if (lj.contains("positions")) l.positions = field(lj, "positions", 1, 1 << 20, 0, where, origin);
      break;
    case LayerType::tokens:
    case LayerType::class_token:
    case LayerType::tanh:
    case LayerType::sigmoid:
    case LayerType::maxpool2d:
    case LayerType::avgpool2d:
      l.kernel = static_cast<int>(field(lj, "kernel", 1, 64, 2, where, origin));
      l.stride = static_cast<int>(field(lj, "stride", 1, 64, l.kernel, where, origin));
      break;
    case LayerType::batchnorm:
      l.eps = real_field(lj, "eps", 0.0, 1.0, 1e-5f, where, origin);
      l.momentum = real_field(lj, "momentum", 0.0, 1.0, 0.1f, where, origin);
      break;
    case LayerType::dropout:
      l.p = real_field(lj, "p", 0.0, 0.999, 0.5f, where, origin);
      break;
    case LayerType::relu:
    case LayerType::add:
    case LayerType::flatten:
    case LayerType::global_avgpool:
      break;
  }
  if (lj.contains("bias")) {
    if (!lj["bias"].is_boolean()) bad(origin, where + ": \"bias\" must be true or false");
    l.bias = lj["bias"].get<bool>();
  }
  if (lj.contains("inputs")) {
    if (!lj["inputs"].is_array()) bad(origin, where + ": \"inputs\" must be a list of node names");
    for (const json& n : lj["inputs"]) {
      if (!n.is_string()) bad(origin, where + ": \"inputs\" must be a list of node names");
      l.inputs.push_back(n.get<std::string>());
    }
    if (l.inputs.size() != input_count(l.type))
      bad(origin, where + ": " + type + " takes " + std::to_string(input_count(l.type)) + " input" +
                      (input_count(l.type) == 1 ? "" : "s") + ", \"inputs\" names " + std::to_string(l.inputs.size()));
  } else if (input_count(l.type) != 1) {
    bad(origin, where + ": " + type + " needs \"inputs\" (the " + std::to_string(input_count(l.type)) + " nodes it reads)");
  }
  return l;
}

// Each layer's inputs resolved to names, then the layers sorted so every input comes first
// (Kahn's algorithm, keeping the file's order among ready layers).
void sort_layers(ModelSpec& m, const std::string& origin) {
  const size_t n = m.layers.size();
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < n; ++i) {
    if (m.layers[i].name == "input") bad(origin, "node " + std::to_string(i + 1) + ": \"input\" names the model's input");
    if (!index.emplace(m.layers[i].name, i).second)
      bad(origin, "node " + std::to_string(i + 1) + ": name \"" + m.layers[i].name + "\" used twice");
  }
  for (size_t i = 0; i < n; ++i)
    if (m.layers[i].inputs.empty()) m.layers[i].inputs = {i == 0 ? "input" : m.layers[i - 1].name};
  std::vector<std::vector<size_t>> readers(n);
  std::vector<size_t> waiting(n, 0);
  std::vector<bool> used(n, false);
  for (size_t i = 0; i < n; ++i)
    for (const std::string& in : m.layers[i].inputs) {
      if (in == "input") continue;
      const auto it = index.find(in);
      if (it == index.end()) bad(origin, "node " + m.layers[i].name + ": input \"" + in + "\" is no node's name");
      if (it->second == i) bad(origin, "node " + m.layers[i].name + " reads itself");
      readers[it->second].push_back(i), ++waiting[i], used[it->second] = true;
    }
  std::vector<size_t> order;
  std::vector<bool> done(n, false);
  while (order.size() < n) {
    size_t next = n;
    for (size_t i = 0; i < n && next == n; ++i)
      if (!done[i] && waiting[i] == 0) next = i;
    if (next == n) {
      for (size_t i = 0; i < n; ++i)
        if (!done[i]) bad(origin, "node " + m.layers[i].name + " is on a cycle (its inputs depend on its output)");
    }
    done[next] = true, order.push_back(next);
    for (size_t r : readers[next]) --waiting[r];
  }
  std::vector<LayerSpec> sorted;
  for (size_t i : order) sorted.push_back(m.layers[i]);
  for (size_t k = 0; k + 1 < n; ++k)
    if (!used[order[k]])
      bad(origin, "node " + sorted[k].name + ": no node reads its output (only the last node is the model's output)");
  m.layers = std::move(sorted);
}

}  // namespace

std::string_view layer_type_name(LayerType t) {
  for (const auto& [type, n] : layer_types)
    if (type == t) return n;
  return "?";
}

std::vector<ParamSpec> layer_params(const LayerSpec& l, const Shape& in) {
  using enum ParamInit;
  std::vector<ParamSpec> p;
  switch (l.type) {
    case LayerType::conv2d:
      // (A bad shape is left to the graph's shape rule, which names the problem.)
      if (in.rank() != 3 || in[0] % l.groups != 0) return {};
      p = {{l.name + ".weight", Shape{l.out, in[0] / l.groups, l.kernel, l.kernel}, true, 0, he_uniform},
           {l.name + ".bias", Shape{l.out}}};
      break;
    case LayerType::linear: {
      const int64_t fan_in = l.flatten || in.rank() == 0 ? in.numel() : in[in.rank() - 1];
      p = {{l.name + ".weight", Shape{l.out, fan_in}, true, 0, he_uniform}, {l.name + ".bias", Shape{l.out}}};
      break;
    }
    case LayerType::layernorm:
      if (in.rank() < 1) return {};
      return {{l.name + ".weight", Shape{in[in.rank() - 1]}, false, 0, ones}, {l.name + ".bias", Shape{in[in.rank() - 1]}}};
    case LayerType::class_token:
      if (in.rank() != 2) return {};
      return {{l.name + ".token", Shape{1, 1, in[1]}, false, 0, normal_002}};
    case LayerType::position_embedding:
      if (in.rank() != 2) return {};
      return {{l.name + ".weight", Shape{1, l.positions > 0 ? l.positions : in[0], in[1]}, false, 0, normal_002}};
    case LayerType::embedding:
      if (in.rank() != 1 || l.vocab < 1) return {};
      return {{l.name + ".weight", Shape{l.vocab, l.out}, false, 0, normal_002}};
    case LayerType::attention: {
      // (A bad shape or head count is left to the lowering, which names the problem.)
      if (in.rank() != 2) return {};
      const int64_t d = in[1];
      return {{l.name + ".in_proj_weight", Shape{3 * d, d}, true, 0, xavier_uniform},
              {l.name + ".in_proj_bias", Shape{3 * d}},
              {l.name + ".out_proj.weight", Shape{d, d}, true, 0, xavier_uniform},
              {l.name + ".out_proj.bias", Shape{d}}};
    }
    case LayerType::batchnorm:
      if (in.rank() < 1) return {};
      return {{l.name + ".weight", Shape{in[0]}, false, 0, ones},
              {l.name + ".bias", Shape{in[0]}},
              {l.name + ".running_mean", Shape{in[0]}, false, 0, zeros, true},
              {l.name + ".running_var", Shape{in[0]}, false, 0, ones, true}};
    default:
      return {};
  }
  if (!l.bias) p.pop_back();
  return p;
}

std::vector<std::vector<int>> ModelSpec::sources() const {
  std::map<std::string, int> index;
  for (size_t i = 0; i < layers.size(); ++i) index[layers[i].name] = static_cast<int>(i);
  std::vector<std::vector<int>> out(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].inputs.empty()) out[i] = {static_cast<int>(i) - 1};
    for (const std::string& in : layers[i].inputs) out[i].push_back(in == "input" ? -1 : index.at(in));
  }
  return out;
}

std::vector<ParamSpec> ModelSpec::params() const {
  return lower(*this, 1, {cpu_device()}, Purpose::inference).param_specs;
}

std::vector<ParamSpec> ModelSpec::buffers() const {
  return lower(*this, 1, {cpu_device()}, Purpose::inference).buffer_specs;
}

std::vector<Shape> ModelSpec::shapes() const {
  Lowered m = lower(*this, 1, {cpu_device()}, Purpose::inference);
  std::vector<Shape> out;
  for (graph::ValueId v : m.outputs) {
    const Shape& s = m.g.value(v).shape;
    out.push_back(Shape(std::span<const int64_t>(s.begin() + 1, s.end())));
  }
  const bool per_token = token_input() && !out.empty() && out.back().rank() == 2 && out.back()[1] == classes;
  if (out.empty() || (out.back().numel() != classes && !per_token))
    bad(name, "the last node gives " + (out.empty() ? input.str() : out.back().str()) + ", not " +
                  std::to_string(classes) + " class scores" + (token_input() ? " (or [tokens, classes])" : ""));
  return out;
}

bool ModelSpec::per_token_output() const {
  if (!token_input()) return false;
  const Shape s = shapes().back();
  return s.rank() == 2 && s[1] == classes;
}

std::string ModelSpec::to_json() const {
  json j;
  j["format"] = "tandem-graph";
  j["version"] = 2;
  j["name"] = name;
  j["input"] = std::vector<int64_t>(input.begin(), input.end());
  j["classes"] = classes;
  if (vocab > 0) j["vocab"] = vocab;
  j["nodes"] = json::array();
  for (const LayerSpec& l : layers) {
    json o{{"name", l.name}, {"op", layer_type_name(l.type)}, {"inputs", l.inputs}};
    if (l.type == LayerType::conv2d)
      o.update({{"out_channels", l.out}, {"kernel", l.kernel}, {"stride", l.stride}, {"pad", l.pad},
                {"dilation", l.dilation}, {"groups", l.groups}});
    if (l.type == LayerType::linear) o["out"] = l.out;
    if (l.type == LayerType::linear && !l.flatten) o["flatten"] = false;
    if (l.type == LayerType::layernorm) o["eps"] = l.eps;
    if (l.type == LayerType::attention) o["heads"] = l.heads;
    if (l.type == LayerType::embedding) o.update({{"out", l.out}, {"vocab", l.vocab}});
    if (l.type == LayerType::position_embedding && l.positions > 0) o["positions"] = l.positions;
    if (l.type == LayerType::gelu) o["approximate"] = l.tanh_approx ? "tanh" : "none";
    if (l.type == LayerType::slice) o.update({{"axis", l.axis}, {"start", l.start}, {"length", l.length}});
    if (l.type == LayerType::conv2d || l.type == LayerType::linear) o["bias"] = l.bias;
    if (l.type == LayerType::maxpool2d || l.type == LayerType::avgpool2d)
      o.update({{"kernel", l.kernel}, {"stride", l.stride}});
    if (l.type == LayerType::batchnorm) o.update({{"eps", l.eps}, {"momentum", l.momentum}});
    if (l.type == LayerType::dropout) o["p"] = l.p;
    j["nodes"].push_back(o);
  }
  return j.dump();
}

ModelSpec parse_model(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    bad(origin, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) bad(origin, "expected a JSON object");
  ModelSpec m;
  if (j.contains("name") && !j["name"].is_string()) bad(origin, "\"name\" must be a string");
  m.name = j.value("name", origin);
  if (j.contains("vocab")) m.vocab = field(j, "vocab", 2, 1 << 24, 0, "model", origin);
  if (!j.contains("input") || !j["input"].is_array() || j["input"].size() != (m.token_input() ? 1 : 3))
    bad(origin, m.token_input() ? "\"input\" must be [tokens] (a model with a \"vocab\" reads token ids)"
                                : "\"input\" must be [channels, height, width]");
  std::vector<int64_t> in;
  for (const json& d : j["input"]) {
    const std::optional<int64_t> v = json_integer<int64_t>(d);
    if (!v || *v < 1 || *v > 65536) bad(origin, "\"input\" dimensions must be integers in [1, 65536]");
    in.push_back(*v);
  }
  m.input = Shape(std::span<const int64_t>(in));
  m.classes = static_cast<int>(field(j, "classes", 2, 1 << 20, 10, "model", origin));
  const bool graph = j.contains("nodes");
  if (graph) {
    if (!j.contains("version") || json_integer<int64_t>(j["version"]) != 2)
      bad(origin, "a \"nodes\" description needs \"version\": 2 (the only graph version this build reads)");
    if (j.contains("layers")) bad(origin, "give \"nodes\" or \"layers\", not both");
  }
  const char* list = graph ? "nodes" : "layers";
  const char* type_key = graph ? "op" : "type";
  if (!j.contains(list) || !j[list].is_array() || j[list].empty())
    bad(origin, std::string("\"") + list + "\" must be a non-empty list");
  int index = 0;
  for (const json& lj : j[list]) {
    ++index;
    const std::string where = (graph ? "node " : "layer ") + std::to_string(index);
    if (!lj.is_object() || !lj.contains(type_key) || !lj[type_key].is_string())
      bad(origin, where + ": needs an \"" + type_key + "\"");
    if (!graph && lj.contains("inputs")) bad(origin, where + ": \"inputs\" needs a version-2 description (\"nodes\")");
    const std::string type = lj[type_key];
    LayerSpec l = parse_layer(lj, type, where, origin);
    if (lj.contains("name") && !lj["name"].is_string()) bad(origin, where + ": \"name\" must be a string");
    l.name = lj.contains("name") ? lj["name"].get<std::string>() : type + std::to_string(index);
    if (l.type == LayerType::embedding && l.vocab == 0) {
      if (!m.token_input()) bad(origin, where + ": embedding reads token ids: give the model a \"vocab\" (or the node one)");
      l.vocab = m.vocab;
    }
    m.layers.push_back(l);
  }
  sort_layers(m, origin);
  try {
    m.shapes();  // checks that the layers fit together
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::invalid_argument) throw;
    bad(origin, e.op().starts_with("model ") ? e.detail() : e.op() + ": " + e.detail());  // names the node
  }
  return m;
}

std::string ModelSpec::layer_name(size_t i) const {
  return layers.at(i).name.empty() ? "layer" + std::to_string(i) : layers[i].name;
}

std::vector<std::string> ModelSpec::layer_names() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < layers.size(); ++i) out.push_back(layer_name(i));
  return out;
}

ModelSpec load_model(const std::string& name_or_path) {
  if (std::optional<ModelSpec> m = builtin_model(name_or_path)) return *m;
  if (access(name_or_path.c_str(), F_OK) != 0) {
    std::string names;
    for (const std::string& n : builtin_model_names()) names += (names.empty() ? "" : ", ") + n;
    throw Error(ErrorKind::io, "", "model " + name_or_path, "not a built-in model (" + names + ") and not a readable file");
  }
  return parse_model(read_file(name_or_path, "model " + name_or_path, max_model_json_bytes), name_or_path);
}

}  // namespace tandem::nn
