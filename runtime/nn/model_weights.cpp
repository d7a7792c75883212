// The device-side half of model files (model_file.h, checkpoint.h): tensors in and out of a
// network. Kept apart from the parsers, which touch no device (the fuzz targets build them alone).
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

void write_model_file(const std::string& path, Network& net, const InputNorm& norm) {
  CheckpointData data;
  std::vector<Param*> params = net.params();
  data.header_json = json{{"kind", "model"},
                          {"model", json::parse(net.spec().to_json())},
                          {"normalize", {{"mean", norm.mean}, {"scale", norm.scale}}},
                          {"sparsity", overall_sparsity(params)}}
                         .dump();
  for (Param* p : params) data.tensors.push_back(NamedTensor::of("param:" + p->name, p->value));
  for (Param* b : net.buffers()) data.tensors.push_back(NamedTensor::of("buffer:" + b->name, b->value));
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
