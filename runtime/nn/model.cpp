#include "tandem/nn/model.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tandem/error.h"
#include "tandem/file.h"
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
  if (!j[key].is_number_integer()) bad(origin, where + ": \"" + key + "\" must be an integer");
  const int64_t v = j[key].get<int64_t>();
  if (v < lo || v > hi)
    bad(origin, where + ": \"" + key + "\" = " + std::to_string(v) + " outside [" + std::to_string(lo) + ", " +
                    std::to_string(hi) + "]");
  return v;
}

const char* const builtin_mlp = R"({"name": "mlp", "input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "linear", "name": "fc1", "out": 256}, {"type": "relu"},
  {"type": "linear", "name": "fc2", "out": 128}, {"type": "relu"},
  {"type": "linear", "name": "fc3", "out": 10}]})";

// The CNN of the distributed-training benchmark literature, adapted to 28×28×1 inputs.
const char* const builtin_cnn = R"({"name": "cnn", "input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "conv2d", "name": "conv1", "out_channels": 16, "kernel": 3, "pad": 1}, {"type": "relu"},
  {"type": "maxpool2d", "kernel": 2},
  {"type": "conv2d", "name": "conv2", "out_channels": 32, "kernel": 3, "pad": 1}, {"type": "relu"},
  {"type": "maxpool2d", "kernel": 2},
  {"type": "linear", "name": "fc1", "out": 128}, {"type": "relu"},
  {"type": "linear", "name": "fc2", "out": 10}]})";

}  // namespace

std::string_view layer_type_name(LayerType t) {
  switch (t) {
    case LayerType::conv2d:
      return "conv2d";
    case LayerType::linear:
      return "linear";
    case LayerType::relu:
      return "relu";
    case LayerType::maxpool2d:
      return "maxpool2d";
  }
  return "?";
}

std::vector<ParamSpec> layer_params(const LayerSpec& l, const Shape& in) {
  switch (l.type) {
    case LayerType::conv2d:
      return {{l.name + ".weight", Shape{l.out, in[0], l.kernel, l.kernel}, true},
              {l.name + ".bias", Shape{l.out}, false}};
    case LayerType::linear:
      return {{l.name + ".weight", Shape{l.out, in.numel()}, true}, {l.name + ".bias", Shape{l.out}, false}};
    case LayerType::relu:
    case LayerType::maxpool2d:
      break;
  }
  return {};
}

std::vector<ParamSpec> ModelSpec::params() const {
  const std::vector<Shape> out = shapes();
  std::vector<ParamSpec> all;
  for (size_t i = 0; i < layers.size(); ++i)
    for (ParamSpec& p : layer_params(layers[i], i == 0 ? input : out[i - 1])) all.push_back(std::move(p));
  return all;
}

std::vector<Shape> ModelSpec::shapes() const {
  std::vector<Shape> out;
  Shape s = input;
  for (const LayerSpec& l : layers) {
    auto fail = [&](const std::string& what) {
      bad(name, "layer " + l.name + ": " + what + " (input " + s.str() + ")");
    };
    switch (l.type) {
      case LayerType::conv2d:
        if (s.rank() != 3) fail("needs a [C,H,W] input");
        if (s[1] + 2 * l.pad < l.kernel || s[2] + 2 * l.pad < l.kernel) fail("kernel larger than the padded input");
        s = Shape{l.out, window_out(s[1], l.kernel, l.stride, l.pad), window_out(s[2], l.kernel, l.stride, l.pad)};
        break;
      case LayerType::maxpool2d:
        if (s.rank() != 3) fail("needs a [C,H,W] input");
        if (s[1] < l.kernel || s[2] < l.kernel) fail("window larger than the input");
        s = Shape{s[0], window_out(s[1], l.kernel, l.stride, 0), window_out(s[2], l.kernel, l.stride, 0)};
        break;
      case LayerType::linear:
        s = Shape{l.out};
        break;
      case LayerType::relu:
        break;
    }
    out.push_back(s);
  }
  if (out.empty() || out.back().numel() != classes)
    bad(name, "the last layer gives " + (out.empty() ? input.str() : out.back().str()) + ", not " +
                  std::to_string(classes) + " class scores");
  return out;
}

std::string ModelSpec::to_json() const {
  json j;
  j["name"] = name;
  j["input"] = std::vector<int64_t>(input.begin(), input.end());
  j["classes"] = classes;
  j["layers"] = json::array();
  for (const LayerSpec& l : layers) {
    json o{{"type", layer_type_name(l.type)}, {"name", l.name}};
    if (l.type == LayerType::conv2d)
      o.update({{"out_channels", l.out}, {"kernel", l.kernel}, {"stride", l.stride}, {"pad", l.pad}});
    if (l.type == LayerType::linear) o["out"] = l.out;
    if (l.type == LayerType::maxpool2d) o.update({{"kernel", l.kernel}, {"stride", l.stride}});
    j["layers"].push_back(o);
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
  if (!j.contains("input") || !j["input"].is_array() || j["input"].size() != 3)
    bad(origin, "\"input\" must be [channels, height, width]");
  std::vector<int64_t> in;
  for (const json& d : j["input"]) {
    if (!d.is_number_integer() || d.get<int64_t>() < 1 || d.get<int64_t>() > 65536)
      bad(origin, "\"input\" dimensions must be integers in [1, 65536]");
    in.push_back(d.get<int64_t>());
  }
  m.input = Shape(std::span<const int64_t>(in));
  m.classes = static_cast<int>(field(j, "classes", 2, 1 << 20, 10, "model", origin));
  if (!j.contains("layers") || !j["layers"].is_array() || j["layers"].empty())
    bad(origin, "\"layers\" must be a non-empty list");
  int index = 0;
  for (const json& lj : j["layers"]) {
    ++index;
    const std::string where = "layer " + std::to_string(index);
    if (!lj.is_object() || !lj.contains("type") || !lj["type"].is_string()) bad(origin, where + ": needs a \"type\"");
    const std::string type = lj["type"];
    LayerSpec l{};
    if (type == "conv2d") {
      l.type = LayerType::conv2d;
      l.out = field(lj, "out_channels", 1, 1 << 16, -1, where, origin);
      l.kernel = static_cast<int>(field(lj, "kernel", 1, 64, -1, where, origin));
      l.stride = static_cast<int>(field(lj, "stride", 1, 64, 1, where, origin));
      l.pad = static_cast<int>(field(lj, "pad", 0, 64, 0, where, origin));
    } else if (type == "linear") {
      l.type = LayerType::linear;
      l.out = field(lj, "out", 1, 1 << 24, -1, where, origin);
    } else if (type == "relu") {
      l.type = LayerType::relu;
    } else if (type == "maxpool2d") {
      l.type = LayerType::maxpool2d;
      l.kernel = static_cast<int>(field(lj, "kernel", 1, 64, 2, where, origin));
      l.stride = static_cast<int>(field(lj, "stride", 1, 64, l.kernel, where, origin));
    } else {
      bad(origin, where + ": unknown type \"" + type + "\" (known: conv2d, linear, relu, maxpool2d)");
    }
    l.name =
        lj.contains("name") && lj["name"].is_string() ? lj["name"].get<std::string>() : type + std::to_string(index);
    for (const LayerSpec& other : m.layers)
      if (other.name == l.name) bad(origin, where + ": name \"" + l.name + "\" used twice");
    m.layers.push_back(l);
  }
  m.shapes();  // checks that the layers fit together
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
  if (name_or_path == "mlp") return parse_model(builtin_mlp, "mlp");
  if (name_or_path == "cnn") return parse_model(builtin_cnn, "cnn");
  if (access(name_or_path.c_str(), F_OK) != 0)
    throw Error(ErrorKind::io, "", "model " + name_or_path, "not a built-in model (cnn, mlp) and not a readable file");
  return parse_model(read_file(name_or_path, "model " + name_or_path, max_model_json_bytes), name_or_path);
}

}  // namespace tandem::nn
