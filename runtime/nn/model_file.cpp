#include "tandem/nn/model_file.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "tandem/error.h"
#include "tandem/file.h"

namespace tandem::nn {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& origin, const std::string& what) {
  throw Error(ErrorKind::io, "", "model file " + origin, what);
}

}  // namespace

ModelFile parse_model_file(std::string_view bytes, const std::string& origin) {
  CheckpointData data = parse_checkpoint(bytes, origin);
  ModelFile file;
  json header;
  try {
    header = json::parse(data.header_json);
    const std::string kind = header.value("kind", "");
    const json* model = nullptr;
    if (kind == "model" && header.contains("model"))
      model = &header["model"];
    else if (kind == "checkpoint" && header.contains("config") && header["config"].contains("model"))
      model = &header["config"]["model"];
    else
      bad(origin, "holds no model (kind \"" + kind + "\"; expected an exported model or a training checkpoint)");
    file.spec = parse_model(model->dump(), origin);
    if (header.contains("sparsity")) file.sparsity = header["sparsity"].get<double>();
    if (header.contains("normalize")) {
      const json& n = header["normalize"];
      file.norm = {n.at("mean").get<float>(), n.at("scale").get<float>()};
      if (!std::isfinite(file.norm.mean) || !std::isfinite(file.norm.scale) || !(file.norm.scale > 0))
        bad(origin, "input normalization mean " + std::to_string(file.norm.mean) + ", scale " +
                        std::to_string(file.norm.scale) + " is not usable");
    }
  } catch (const json::exception& e) {
    bad(origin, std::string("malformed header: ") + e.what());
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::io) throw;
    bad(origin, e.detail());
  }
  int64_t prunable = 0, zeros = 0;
  for (const ParamSpec& p : file.spec.params()) {
    const NamedTensor* t = data.find("param:" + p.name);
    if (t == nullptr) bad(origin, "lacks the weights of " + p.name);
    if (t->dtype != DType::f32 || !(t->shape == p.shape))
      bad(origin, p.name + " is " + std::string(dtype_name(t->dtype)) + t->shape.str() + ", the model needs f32" +
                      p.shape.str());
    if (const int64_t at = first_non_finite(t->dtype, t->bytes.data(), static_cast<size_t>(p.shape.numel())); at >= 0)
      bad(origin, "the weights of " + p.name + " hold a non-finite value at element " + std::to_string(at) +
                      " (a diverged run's?)");
    NamedTensor w = *t;
    w.name = p.name;
    if (p.prunable) {
      const auto* v = reinterpret_cast<const float*>(w.bytes.data());
      for (int64_t i = 0; i < p.shape.numel(); ++i) zeros += v[i] == 0.0f;
      prunable += p.shape.numel();
    }
    if (const NamedTensor* m = data.find("mask:" + p.name)) {
      if (m->dtype != DType::f32 || !(m->shape == p.shape))
        bad(origin, "the mask of " + p.name + " has the wrong shape");
      if (first_non_finite(m->dtype, m->bytes.data(), static_cast<size_t>(p.shape.numel())) >= 0)
        bad(origin, "the mask of " + p.name + " holds a non-finite value");
      NamedTensor mask = *m;
      mask.name = p.name;
      file.masks.push_back(std::move(mask));
    }
    file.params.push_back(std::move(w));
  }
  for (const ParamSpec& b : file.spec.buffers()) {
    const NamedTensor* t = data.find("buffer:" + b.name);
    if (t == nullptr) bad(origin, "lacks the buffer " + b.name + " (running statistics)");
    if (t->dtype != DType::f32 || !(t->shape == b.shape))
      bad(origin, b.name + " is " + std::string(dtype_name(t->dtype)) + t->shape.str() + ", the model needs f32" +
                      b.shape.str());
    if (first_non_finite(t->dtype, t->bytes.data(), static_cast<size_t>(b.shape.numel())) >= 0)
      bad(origin, "the buffer " + b.name + " holds a non-finite value");
    NamedTensor v = *t;
    v.name = b.name;
    file.buffers.push_back(std::move(v));
  }
  if (!header.contains("sparsity") && prunable > 0) file.sparsity = static_cast<double>(zeros) / prunable;
  return file;
}

ModelFile read_model_file(const std::string& path) {
  return parse_model_file(read_file(path, "model file " + path), path);
}

}  // namespace tandem::nn
