// The C API's model half: loading (checked file → network on a device within the memory limit),
// inference, a training step, saving. Each model charges its tensors to its own MemoryAccount,
// so the runtime's memory limit is enforced at every allocation, not estimated.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <limits>

#include "capi.h"
#include "tandem/log.h"
#include "tandem/nn/prune.h"

using namespace tandem;
using capi::fail;
using capi::guarded;

namespace tandem::capi {
namespace {

// The model's input tensor sized for `batch` (charged to the model). A new size first frees the
// old batch's buffers, so that the two never add up past the memory limit.
Tensor& stage_input(tandem_model& m, size_t batch) {
  if (m.input && m.input.shape()[0] == static_cast<int64_t>(batch)) return m.input;
  m.input = m.labels = Tensor();
  m.net->release_batch();
  std::vector<int64_t> dims{static_cast<int64_t>(batch)};
  dims.insert(dims.end(), m.spec.input.begin(), m.spec.input.end());
  m.input = Tensor::empty(m.net->input_device(), Shape(std::span<const int64_t>(dims)));
  if (m.net->purpose() == nn::Purpose::training)
    m.labels = Tensor::empty(m.net->output_device(), {static_cast<int64_t>(batch)}, DType::i32);
  return m.input;
}

// A forward pass on zeros: sizes the activations for `batch`.
void size_for(tandem_model& m, int64_t batch) {
  Tensor& x = stage_input(m, static_cast<size_t>(batch));
  x.copy_from_host(std::vector<float>(static_cast<size_t>(x.numel())).data());
  m.net->forward(x);
}

// Builds m's network on d for the purpose, within the limit, and measures its footprint: the
// weights, then the activations at batches 1 and 2 (they grow linearly with the batch). Throws
// Error on failure (the device lacking an op names it).
void build(tandem_model& m, const nn::ModelFile& file, const Device& d, nn::Purpose purpose) {
  for (size_t i = 0; i < file.spec.layers.size(); ++i)
    if (const OpDesc* op = nn::missing_op(file.spec, i, d, purpose))
      throw Error(ErrorKind::unsupported, d.id(), purpose == nn::Purpose::training ? "train" : "load",
                  "has no " + std::string(op->name) + " for layer " + file.spec.layers[i].name);
  MemoryAccount::Scope charge(*m.account);
  m.input = m.labels = Tensor();
  m.net = std::make_unique<nn::Network>(file.spec, std::vector<Device>{d}, purpose);
  m.net->set_fusion(true);  // fused ReLUs; inference with batch norm folded into the convolutions
  nn::load_weights(*m.net, file);
  const uint64_t weights = m.account->used();
  size_for(m, 1);
  const uint64_t one = m.account->used();
  try {
    size_for(m, 2);
    m.per_sample_bytes = m.account->used() - one;
    m.fixed_bytes = one - m.per_sample_bytes;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::out_of_memory) throw;
    // Only one sample fits under the limit: count all it added as per-sample (an upper bound).
    size_for(m, 1);
    m.per_sample_bytes = one - weights;
    m.fixed_bytes = weights;
  }
}

// The first training step rebuilds the model for training on its device (gradients, and the
// backward ops, which the device must have), from its current weights. If that fails the model
// is rebuilt for inference as it was, and the error stands.
void make_trainable(tandem_model& m) {
  const Device d = m.net->input_device();
  nn::ModelFile now;
  now.spec = m.spec;
  std::vector<nn::Param*> params = m.net->params();
  now.sparsity = nn::overall_sparsity(params);
  for (nn::Param* p : params) now.params.push_back(nn::NamedTensor::of(p->name, p->value));
  m.input = m.labels = Tensor();
  m.net.reset();
  try {
    build(m, now, d, nn::Purpose::training);
  } catch (...) {
    m.input = m.labels = Tensor();
    m.net.reset();
    build(m, now, d, nn::Purpose::inference);
    throw;
  }
}

// A model whose rebuild for training failed and whose rebuild for inference failed too (the
// device gone, say) has no network left: every call says so instead of touching it.
tandem_status usable(const char* fn, const tandem_model& m) {
  if (m.net) return TANDEM_OK;
  return fail(TANDEM_ERROR_DEVICE, std::string(fn) +
                                       ": the model lost its network when a rebuild on its device "
                                       "failed; destroy it and load it again");
}

// Bytes the model would hold to run a batch (training: with the optimizer's velocity).
uint64_t needed(const tandem_model& m, int64_t batch, bool training) {
  uint64_t velocity = m.velocity_bytes;
  if (training && !m.sgd)
    for (const nn::ParamSpec& p : m.spec.params()) velocity += static_cast<uint64_t>(p.shape.numel()) * sizeof(float);
  return m.fixed_bytes + m.per_sample_bytes * static_cast<uint64_t>(batch) + velocity;
}

int64_t max_batch(const tandem_model& m, bool training) {
  const uint64_t limit = m.runtime->memory_limit;
  if (limit == 0 || m.per_sample_bytes == 0) return std::numeric_limits<int64_t>::max();
  const uint64_t base = needed(m, 0, training);
  return base >= limit ? 0 : static_cast<int64_t>((limit - base) / m.per_sample_bytes);
}

// Checks a batch's arguments; returns TANDEM_OK or the failure.
tandem_status check_batch(const char* fn, const tandem_model& m, const float* input, size_t batch, size_t input_count,
                          bool training) {
  TANDEM_C_REQUIRE(input, fn, "input");
  if (batch == 0) return fail(TANDEM_ERROR_INVALID_ARGUMENT, std::string(fn) + ": batch is 0");
  const auto per = static_cast<size_t>(m.spec.input.numel());
  if (batch > std::numeric_limits<size_t>::max() / per || input_count != batch * per)
    return fail(TANDEM_ERROR_INVALID_ARGUMENT, std::string(fn) + ": input_count is " + std::to_string(input_count) +
                                                   "; a batch of " + std::to_string(batch) + " " + m.spec.input.str() +
                                                   " samples has " + std::to_string(batch * per) + " floats");
  const int64_t most = max_batch(m, training);
  if (static_cast<uint64_t>(batch) > static_cast<uint64_t>(most))
    return fail(TANDEM_ERROR_OUT_OF_MEMORY, std::string(fn) + ": a batch of " + std::to_string(batch) + " needs " +
                                                std::to_string(needed(m, static_cast<int64_t>(batch), training)) +
                                                " bytes on " + m.net->input_device().id() +
                                                ", over the memory limit of " +
                                                std::to_string(m.runtime->memory_limit) +
                                                " bytes (the largest batch that fits: " + std::to_string(most) + ")");
  return TANDEM_OK;
}

// The batch on the model's device.
const Tensor& upload(tandem_model& m, const float* input, size_t batch) {
  Tensor& x = stage_input(m, batch);
  if (m.norm.mean == 0.0f && m.norm.scale == 1.0f) {
    x.copy_from_host(input);
    return x;
  }
  std::vector<float> normalized(static_cast<size_t>(x.numel()));
  for (size_t i = 0; i < normalized.size(); ++i) normalized[i] = (input[i] - m.norm.mean) * m.norm.scale;
  x.copy_from_host(normalized.data());
  return x;
}

tandem_status load(tandem_runtime* rt, const char* fn, const nn::ModelFile& file, const char* device,
                   tandem_model** out) {
  std::vector<Device> candidates = rt->devices;
  if (device != nullptr && *device != '\0') {
    Device d;
    try {
      d = find_device(device);
    } catch (const Error& e) {
      return fail(TANDEM_ERROR_NO_DEVICE, std::string(fn) + ": " + e.what());
    }
    if (std::find(candidates.begin(), candidates.end(), d) == candidates.end())
      return fail(TANDEM_ERROR_NO_DEVICE,
                  std::string(fn) + ": device " + d.id() + " is not among the runtime's allowed devices");
    candidates = {d};
  }
  std::string reasons;
  tandem_status first_failure = TANDEM_OK;
  for (const Device& d : candidates) {
    try {
      auto m = std::make_unique<tandem_model>();
      m->runtime = rt;
      m->spec = file.spec;
      m->norm = file.norm;
      m->account = std::make_unique<MemoryAccount>(rt->memory_limit);
      build(*m, file, d, nn::Purpose::inference);
      *out = m.release();
      TANDEM_LOG(
          info, "C API: loaded " << file.spec.name << " on " << d.id() << " (" << (*out)->account->used() << " bytes)");
      return TANDEM_OK;
    } catch (const Error& e) {
      if (candidates.size() == 1) throw;
      // Never silent: the caller's log hears of every device passed over, and why.
      TANDEM_LOG(warn, "C API: " << file.spec.name << " did not load on " << d.id() << ": " << e.what()
                                 << (d == candidates.back() ? "" : "; trying the next allowed device"));
      reasons += std::string(reasons.empty() ? "" : "; ") + e.what();
      if (first_failure == TANDEM_OK) first_failure = status_of(e.kind());
    }
  }
  return fail(first_failure, std::string(fn) + ": no allowed device can hold " + file.spec.name + ": " + reasons);
}

}  // namespace
}  // namespace tandem::capi

extern "C" {

tandem_status tandem_model_load(tandem_runtime* runtime, const char* path, const char* device, tandem_model** model) {
  static const char* fn = "tandem_model_load";
  TANDEM_C_REQUIRE(model, fn, "model (the output)");
  *model = nullptr;
  TANDEM_C_REQUIRE(runtime, fn, "runtime");
  TANDEM_C_REQUIRE(path, fn, "path");
  return guarded(fn, [&] { return capi::load(runtime, fn, nn::read_model_file(path), device, model); });
}

tandem_status tandem_model_load_memory(tandem_runtime* runtime, const void* data, size_t size, const char* device,
                                       tandem_model** model) {
  static const char* fn = "tandem_model_load_memory";
  TANDEM_C_REQUIRE(model, fn, "model (the output)");
  *model = nullptr;
  TANDEM_C_REQUIRE(runtime, fn, "runtime");
  TANDEM_C_REQUIRE(data, fn, "data");
  return guarded(fn, [&] {
    const std::string_view bytes(static_cast<const char*>(data), size);
    return capi::load(runtime, fn, nn::parse_model_file(bytes, "(memory)"), device, model);
  });
}

void tandem_model_destroy(tandem_model* model) {
  if (model == nullptr) return;
  try {
    delete model;
  } catch (...) {  // a device failing while freeing: nothing left to report it to
  }
}

tandem_status tandem_model_get_info(const tandem_model* model, tandem_model_info* info) {
  static const char* fn = "tandem_model_get_info";
  TANDEM_C_REQUIRE(model, fn, "model");
  TANDEM_C_REQUIRE(info, fn, "info");
  // An older program's struct is a prefix of ours: it gets the fields it knows.
  if (info->struct_size < offsetof(tandem_model_info, name) || info->struct_size > sizeof *info)
    return fail(TANDEM_ERROR_INVALID_ARGUMENT, std::string(fn) + ": info->struct_size is " +
                                                   std::to_string(info->struct_size) +
                                                   " (set it to sizeof(tandem_model_info))");
  auto& m = const_cast<tandem_model&>(*model);
  return guarded(fn, [&] {
    std::lock_guard lock(m.lock);
    if (tandem_status s = capi::usable(fn, m); s != TANDEM_OK) return s;
    const uint32_t size = info->struct_size;
    tandem_model_info full;
    std::memset(&full, 0, sizeof full);
    tandem_model_info* const out = info;
    info = &full;
    std::snprintf(info->name, sizeof info->name, "%s", m.spec.name.c_str());
    std::snprintf(info->device, sizeof info->device, "%s", m.net->input_device().id().c_str());
    info->device_modeled = m.net->input_device().props().modeled ? 1 : 0;
    info->input_channels = m.spec.input[0];
    info->input_height = m.spec.input.rank() > 1 ? m.spec.input[1] : 1;
    info->input_width = m.spec.input.rank() > 2 ? m.spec.input[2] : 1;
    info->classes = m.spec.classes;
    for (const nn::ParamSpec& p : m.spec.params()) info->parameters += p.shape.numel();
    info->sparsity = nn::overall_sparsity(m.net->params());
    info->input_mean = m.norm.mean;
    info->input_scale = m.norm.scale;
    info->memory_bytes = m.account->used();
    info->memory_per_sample = m.per_sample_bytes;
    info->memory_limit_bytes = m.runtime->memory_limit;
    info->max_batch = capi::max_batch(m, false);
    full.struct_size = size;
    std::memcpy(out, &full, size);
    return TANDEM_OK;
  });
}

tandem_status tandem_model_infer(tandem_model* model, const float* input, size_t batch, size_t input_count,
                                 float* logits, size_t logits_count) {
  static const char* fn = "tandem_model_infer";
  TANDEM_C_REQUIRE(model, fn, "model");
  TANDEM_C_REQUIRE(logits, fn, "logits");
  return guarded(fn, [&] {
    std::lock_guard lock(model->lock);
    if (tandem_status s = capi::usable(fn, *model); s != TANDEM_OK) return s;
    if (tandem_status s = capi::check_batch(fn, *model, input, batch, input_count, false); s != TANDEM_OK) return s;
    if (logits_count != batch * static_cast<size_t>(model->spec.classes))
      return fail(TANDEM_ERROR_INVALID_ARGUMENT, std::string(fn) + ": logits_count is " + std::to_string(logits_count) +
                                                     "; " + std::to_string(batch) + " samples of " +
                                                     std::to_string(model->spec.classes) + " classes need " +
                                                     std::to_string(batch * model->spec.classes));
    MemoryAccount::Scope charge(*model->account);
    const Tensor& x = capi::upload(*model, input, batch);
    model->net->infer(x).copy_to_host(logits);
    return TANDEM_OK;
  });
}

tandem_status tandem_model_classify(tandem_model* model, const float* input, size_t batch, size_t input_count,
                                    int32_t* classes, size_t classes_count) {
  static const char* fn = "tandem_model_classify";
  TANDEM_C_REQUIRE(model, fn, "model");
  TANDEM_C_REQUIRE(classes, fn, "classes");
  if (classes_count != batch)
    return fail(TANDEM_ERROR_INVALID_ARGUMENT, std::string(fn) + ": classes_count is " + std::to_string(classes_count) +
                                                   " for a batch of " + std::to_string(batch));
  return guarded(fn, [&] {
    // The batch first (its size, and that it fits the memory limit), then the logits it needs.
    if (tandem_status s = capi::check_batch(fn, *model, input, batch, input_count, false); s != TANDEM_OK) return s;
    const auto k = static_cast<size_t>(model->spec.classes);
    std::vector<float> logits(batch * k);
    if (tandem_status s = tandem_model_infer(model, input, batch, input_count, logits.data(), logits.size());
        s != TANDEM_OK)
      return s;
    for (size_t i = 0; i < batch; ++i) {
      const float* row = logits.data() + i * k;
      classes[i] = static_cast<int32_t>(std::max_element(row, row + k) - row);
    }
    return TANDEM_OK;
  });
}

tandem_status tandem_model_train_step(tandem_model* model, const float* input, const int32_t* labels, size_t batch,
                                      size_t input_count, float learning_rate, float* loss) {
  static const char* fn = "tandem_model_train_step";
  TANDEM_C_REQUIRE(model, fn, "model");
  TANDEM_C_REQUIRE(labels, fn, "labels");
  if (!(learning_rate > 0.0f) || !std::isfinite(learning_rate))
    return fail(TANDEM_ERROR_INVALID_ARGUMENT,
                std::string(fn) + ": learning_rate " + std::to_string(learning_rate) + " is not a positive number");
  return guarded(fn, [&] {
    std::lock_guard lock(model->lock);
    if (tandem_status s = capi::usable(fn, *model); s != TANDEM_OK) return s;
    if (tandem_status s = capi::check_batch(fn, *model, input, batch, input_count, true); s != TANDEM_OK) return s;
    for (size_t i = 0; i < batch; ++i)
      if (labels[i] < 0 || labels[i] >= model->spec.classes)
        return fail(TANDEM_ERROR_INVALID_ARGUMENT, std::string(fn) + ": labels[" + std::to_string(i) + "] is " +
                                                       std::to_string(labels[i]) + ", not a class in [0, " +
                                                       std::to_string(model->spec.classes) + ")");
    tandem_model& m = *model;
    if (m.net->purpose() != nn::Purpose::training) {
      capi::make_trainable(m);  // then the footprint is training's: check the batch against it
      if (tandem_status s = capi::check_batch(fn, m, input, batch, input_count, true); s != TANDEM_OK) return s;
    }
    MemoryAccount::Scope charge(*m.account);
    const Tensor& x = capi::upload(m, input, batch);
    m.labels.copy_from_host(labels);
    m.net->forward(x);
    const float l = m.net->backward(m.labels);
    if (!m.sgd) {  // momentum 0.9 and weight decay 5e-4 on weights, as tandem train
      const uint64_t before = m.account->used();
      m.sgd = std::make_unique<nn::Sgd>(nn::SgdConfig{.lr = learning_rate, .schedule = nn::Schedule::constant});
      m.sgd->velocity(m.net->params());
      m.velocity_bytes = m.account->used() - before;
    }
    std::vector<nn::Param*> params = m.net->params();
    std::vector<const Tensor*> grads;
    for (nn::Param* p : params) grads.push_back(&p->grad);
    m.sgd->step(*m.net, params, grads, learning_rate);
    if (loss != nullptr) *loss = l;
    return TANDEM_OK;
  });
}

tandem_status tandem_model_save(tandem_model* model, const char* path) {
  static const char* fn = "tandem_model_save";
  TANDEM_C_REQUIRE(model, fn, "model");
  TANDEM_C_REQUIRE(path, fn, "path");
  return guarded(fn, [&] {
    std::lock_guard lock(model->lock);
    if (tandem_status s = capi::usable(fn, *model); s != TANDEM_OK) return s;
    nn::write_model_file(path, *model->net, model->norm);
    return TANDEM_OK;
  });
}

}  // extern "C"
