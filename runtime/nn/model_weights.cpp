// The device-side half of model files (model_file.h, checkpoint.h): tensors in and out of a
// network. Kept apart from the parsers, which touch no device (the fuzz targets build them alone).
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "tandem/error.h"
#include "tandem/nn/model_file.h"
#include "tandem/nn/network.h"
#include "tandem/nn/prune.h"

namespace tandem::nn {

using nlohmann::json;

NamedTensor NamedTensor::of(const std::string& name, const Tensor& t) {
  NamedTensor n{name, t.dtype(), t.shape(), std::vector<uint8_t>(t.nbytes())};
  t.copy_to_host(n.bytes.data());
  return n;
}

ModelSpec fold_batchnorm_weights(const ModelSpec& spec, std::map<std::string, std::vector<float>>& params,
                                 std::map<std::string, std::vector<float>>& buffers, size_t* folded) {
  // Every layer named and every input explicit, so that removing a layer leaves the others
  // reading what they read.
  ModelSpec out = spec;
  const std::vector<std::vector<int>> sources = spec.sources();
  std::vector<size_t> readers(spec.layers.size(), 0);
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    out.layers[i].name = spec.layer_name(i);
    for (int s : sources[i])
      if (s >= 0) ++readers[static_cast<size_t>(s)];
  }
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    out.layers[i].inputs.clear();
    for (int s : sources[i]) out.layers[i].inputs.push_back(s < 0 ? "input" : out.layers[static_cast<size_t>(s)].name);
  }
  const auto at = [](std::map<std::string, std::vector<float>>& m, const std::string& name) -> std::vector<float>& {
    const auto it = m.find(name);
    if (it == m.end()) throw Error(ErrorKind::internal, "", "fold batch norm", "no tensor " + name);
    return it->second;
  };
  std::map<std::string, std::string> renamed;  // a folded normalization -> its convolution
  std::vector<bool> removed(spec.layers.size(), false);
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& bn = out.layers[i];
    if (bn.type != LayerType::batchnorm || sources[i].size() != 1 || sources[i][0] < 0) continue;
    const size_t j = static_cast<size_t>(sources[i][0]);
    LayerSpec& conv = out.layers[j];
    if (conv.type != LayerType::conv2d || readers[j] != 1) continue;
    const std::vector<float>& gamma = at(params, bn.name + ".weight");
    const std::vector<float>& beta = at(params, bn.name + ".bias");
    const std::vector<float>& mean = at(buffers, bn.name + ".running_mean");
    const std::vector<float>& var = at(buffers, bn.name + ".running_var");
    std::vector<float>& w = at(params, conv.name + ".weight");
    const size_t k = gamma.size(), per = w.size() / k;
    std::vector<float> bias = conv.bias ? at(params, conv.name + ".bias") : std::vector<float>(k, 0.0f);
    // The float steps of ops::batchnorm_fold (and of the inference pass it replaces).
    for (size_t c = 0; c < k; ++c) {
      const float invstd =
          static_cast<float>(1.0 / std::sqrt(static_cast<double>(var[c]) + static_cast<double>(bn.eps)));
      const float scale = invstd * gamma[c];
      for (size_t e = c * per; e < (c + 1) * per; ++e) w[e] *= scale;
      bias[c] = (bias[c] - mean[c]) * scale + beta[c];
    }
    conv.bias = true;
    params[conv.name + ".bias"] = std::move(bias);
    for (const char* role : {".weight", ".bias"}) params.erase(bn.name + role);
    for (const char* role : {".running_mean", ".running_var"}) buffers.erase(bn.name + role);
    renamed[bn.name] = conv.name;
    removed[i] = true;
  }
  std::vector<LayerSpec> kept;
  for (size_t i = 0; i < out.layers.size(); ++i)
    if (!removed[i]) kept.push_back(std::move(out.layers[i]));
  for (LayerSpec& l : kept)
    for (std::string& in : l.inputs)
      if (const auto it = renamed.find(in); it != renamed.end()) in = it->second;
  out.layers = std::move(kept);
  if (folded != nullptr) *folded = renamed.size();
  return out;
}

void write_model_file(const std::string& path, Network& net, const InputNorm& norm, bool fold_batchnorm) {
  CheckpointData data;
  std::vector<Param*> params = net.params();
  ModelSpec spec = net.spec();
  std::map<std::string, std::vector<float>> values, buffers;
  for (Param* p : params) values[p->name] = p->value.to_f32();
  for (Param* b : net.buffers()) buffers[b->name] = b->value.to_f32();
  size_t folded = 0;
  if (fold_batchnorm) spec = fold_batchnorm_weights(spec, values, buffers, &folded);
  json header{{"kind", "model"},
              {"model", json::parse(spec.to_json())},
              {"normalize", {{"mean", norm.mean}, {"scale", norm.scale}}},
              {"sparsity", overall_sparsity(params)}};
  if (fold_batchnorm) header["folded_batchnorm"] = folded;
  data.header_json = header.dump();
  // In the order of the (folded) description's parameters and buffers, as readers expect them.
  const auto add = [&](const char* role, const ParamSpec& ps, std::map<std::string, std::vector<float>>& from) {
    const std::vector<float>& v = from.at(ps.name);
    NamedTensor t{std::string(role) + ps.name, DType::f32, ps.shape, std::vector<uint8_t>(v.size() * 4)};
    std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
    data.tensors.push_back(std::move(t));
  };
  for (const ParamSpec& ps : spec.params()) add("param:", ps, values);
  for (const ParamSpec& ps : spec.buffers()) add("buffer:", ps, buffers);
  write_checkpoint(path, data);
}

void load_weights(Network& net, const ModelFile& file) {
  const std::vector<Param*> params = net.params(), buffers = net.buffers();
  if (buffers.size() != file.buffers.size())
    throw Error(ErrorKind::invalid_argument, "", "load weights",
                "the network has " + std::to_string(buffers.size()) + " buffers, the file " +
                    std::to_string(file.buffers.size()));
  for (size_t i = 0; i < buffers.size(); ++i) {
    if (buffers[i]->name != file.buffers[i].name || !(buffers[i]->value.shape() == file.buffers[i].shape))
      throw Error(ErrorKind::invalid_argument, "", "load weights",
                  "buffer " + buffers[i]->name + " does not match the file's " + file.buffers[i].name);
    buffers[i]->value.copy_from_host(file.buffers[i].bytes.data());
  }
  if (params.size() != file.params.size())
    throw Error(ErrorKind::invalid_argument, "", "load weights",
                "the network has " + std::to_string(params.size()) + " parameters, the file " +
                    std::to_string(file.params.size()));
  for (size_t i = 0; i < params.size(); ++i) {
    Param& p = *params[i];
    const NamedTensor& w = file.params[i];
    if (p.name != w.name || !(p.value.shape() == w.shape))
      throw Error(
          ErrorKind::invalid_argument, "", "load weights",
          "parameter " + p.name + p.value.shape().str() + " does not match the file's " + w.name + w.shape.str());
    p.value.copy_from_host(w.bytes.data());
    if (!p.prunable || net.purpose() != Purpose::training) continue;  // masks matter to updates only
    const NamedTensor* mask = nullptr;
    for (const NamedTensor& m : file.masks)
      if (m.name == p.name) mask = &m;
    if (mask == nullptr && file.sparsity == 0) continue;
    std::vector<float> m(static_cast<size_t>(w.shape.numel()));
    const auto* v = reinterpret_cast<const float*>((mask ? mask->bytes : w.bytes).data());
    for (size_t j = 0; j < m.size(); ++j) m[j] = mask ? v[j] : (v[j] != 0.0f ? 1.0f : 0.0f);
    p.mask = Tensor::empty(p.value.device(), p.value.shape());
    p.mask.copy_from_host(m.data());
  }
}

}  // namespace tandem::nn
