#include "tandem/nn/network.h"

#include "layers.h"
#include "tandem/clock.h"
#include "tandem/error.h"
#include "tandem/log.h"

namespace tandem::nn {
namespace {

// [batch, ...one sample's shape].
Shape batched(int64_t batch, const Shape& sample) {
  std::vector<int64_t> d{batch};
  d.insert(d.end(), sample.begin(), sample.end());
  return Shape(std::span<const int64_t>(d));
}

// The device itself when it has every op of the layer; otherwise the CPU, said once per process
// for each (model, layer, device): never silently, and not once per step or per replica.
Device fallback_for(const ModelSpec& spec, size_t i, const Device& d, Purpose purpose) {
  const OpDesc* op = missing_op(spec, i, d, purpose);
  if (op == nullptr) return d;
  const std::string name = spec.layer_name(i);
  log_once(LogLevel::warn, "fallback " + spec.name + "/" + name + "@" + d.id(),
           "layer " + name + " of " + spec.name + " falls back from " + d.id() + " to cpu:0: " + d.id() +
               " has no kernel for " + op->name);
  return cpu_device();
}

}  // namespace

Network::Network(const ModelSpec& spec, const std::vector<Device>& placement, Purpose purpose)
    : spec_(spec), purpose_(purpose) {
  if (placement.size() != 1 && placement.size() != spec.layers.size())
    throw Error(ErrorKind::invalid_argument, "", "network " + spec.name,
                "placement names " + std::to_string(placement.size()) + " devices for " +
                    std::to_string(spec.layers.size()) + " layers (give one, or one per layer)");
  const std::vector<Shape> shapes = spec.shapes();
  Shape in = spec.input;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    Device d = placement.size() == 1 ? placement[0] : placement[i];
    if (!d)
      throw Error(ErrorKind::invalid_argument, "", "network " + spec.name,
                  "no device for layer " + spec.layers[i].name);
    d = fallback_for(spec, i, d, purpose);
    layers_.push_back(make_layer(spec.layers[i], d));
    layers_.back()->build(in, purpose == Purpose::training);
    if (!streams_.count(d.impl())) streams_.emplace(d.impl(), Stream(d));
    in = shapes[i];
  }
}

Network::~Network() = default;

void Network::init(uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (auto& l : layers_) l->init(rng);
}

std::vector<Param*> Network::params() {
  std::vector<Param*> out;
  for (auto& l : layers_)
    for (Param& p : l->params()) out.push_back(&p);
  return out;
}

Device Network::input_device() const { return layers_.front()->device(); }
Device Network::output_device() const { return layers_.back()->device(); }
Stream& Network::stream(const Device& d) { return streams_.at(d.impl()); }

// src, written by work queued on `from`, into dst on `to`, ordered by streams rather than by the
// host where the devices queue copies: from host memory (whose work is done once its ops
// return) on to's stream; otherwise on from's stream (after its work), which to's stream then
// waits for when dst is host memory (between two devices the copy is synchronous).
void Network::transfer(const Tensor& src, const Tensor& dst, const Device& from, const Device& to) {
  if (from.props().host_accessible) return copy(stream(to), src, dst);
  copy(stream(from), src, dst);
  if (to.props().host_accessible) stream(to).wait(stream(from).record());
}

void Network::allocate(int64_t batch) {
  if (batch == batch_) return;
  const std::vector<Shape> shapes = spec_.shapes();
  acts_.clear(), inputs_.clear(), grads_.clear(), in_grads_.clear();
  Shape in = batched(batch, spec_.input);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Device d = layers_[i]->device();
    const Shape out = batched(batch, shapes[i]);
    const bool moved = i > 0 && !(layers_[i - 1]->device() == d);
    const bool grads = purpose_ == Purpose::training;
    inputs_.push_back(moved ? Tensor::empty(d, in) : Tensor());
    in_grads_.push_back(moved && grads ? Tensor::empty(d, in) : Tensor());
    // ReLU runs in place (its output and gradient share its input's buffers): no layer's
    // backward reads its own output, and relu_backward gives the same result from y as from x
    // (y > 0 exactly where x > 0). At batch 256 this keeps the CNN's largest activations in cache.
    const bool in_place = i > 0 && !moved && spec_.layers[i].type == LayerType::relu;
    acts_.push_back(in_place ? acts_[i - 1] : Tensor::empty(d, out));
    grads_.push_back(!grads ? Tensor() : in_place ? grads_[i - 1] : Tensor::empty(d, out));
    layers_[i]->resize(out);
    in = out;
  }
  if (purpose_ == Purpose::training) {
    const Device last = output_device();
    probs_ = Tensor::empty(last, {batch, spec_.classes});
    loss_ = Tensor::empty(last, {1});
  }
  batch_ = batch;
}

void Network::release_batch() {
  acts_.clear(), inputs_.clear(), grads_.clear(), in_grads_.clear();
  input_ = probs_ = loss_ = Tensor();
  for (auto& l : layers_) l->release();
  batch_ = 0;
}

const Tensor& Network::forward(const Tensor& input) {
  const Shape want = batched(input.shape().rank() > 0 ? input.shape()[0] : 0, spec_.input);
  if (!(input.shape() == want) || input.dtype() != DType::f32)
    throw Error(ErrorKind::invalid_argument, input.device().id(), "network " + spec_.name,
                "input " + input.str() + " does not match the model's f32" + want.str());
  allocate(input.shape()[0]);
  input_ = input;
  const Tensor* x = &input;
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& l = *layers_[i];
    if (inputs_[i]) {  // the previous layer ran elsewhere: bring its output here
      transfer(*x, inputs_[i], layers_[i - 1]->device(), l.device());
      x = &inputs_[i];
    }
    const auto m = mark(i);
    l.forward(stream(l.device()), *x, acts_[i]);
    charge(i, m);
    x = &acts_[i];
  }
  return acts_.back();
}

float Network::backward(const Tensor& labels, const std::function<void(size_t, size_t)>& on_ready, float loss_scale) {
  if (purpose_ != Purpose::training)
    throw Error(ErrorKind::unsupported, "", "network " + spec_.name, "built for inference: no backward pass");
  std::vector<size_t> first(layers_.size() + 1, 0);  // each layer's first index in params()
  for (size_t i = 0; i < layers_.size(); ++i) first[i + 1] = first[i] + layers_[i]->params().size();
  Stream& s = stream(output_device());
  const auto loss_mark = mark(layers_.size() - 1);
  ops::softmax_xent_forward(s, acts_.back(), labels, probs_, loss_);
  ops::softmax_xent_backward(s, probs_, labels, grads_.back());
  if (loss_scale != 1.0f) ops::scale(s, loss_scale, grads_.back());
  charge(layers_.size() - 1, loss_mark);
  for (size_t i = layers_.size(); i-- > 0;) {
    Layer& l = *layers_[i];
    const Tensor* dx = i == 0 ? nullptr : (in_grads_[i] ? &in_grads_[i] : &grads_[i - 1]);
    const Tensor& input = i == 0 ? input_ : (inputs_[i] ? inputs_[i] : acts_[i - 1]);
    const auto m = mark(i);
    l.backward(stream(l.device()), input, grads_[i], dx);
    charge(i, m);
    if (on_ready && first[i + 1] > first[i]) {
      stream(l.device()).synchronize();
      on_ready(first[i], first[i + 1] - first[i]);
    }
    if (i > 0 && in_grads_[i]) transfer(in_grads_[i], grads_[i - 1], l.device(), layers_[i - 1]->device());
  }
  float loss = 0;
  loss_.copy_to_host(&loss);
  return loss;
}

void Network::time_layers(bool on) {
  timing_ = on;
  layer_seconds_.assign(layers_.size(), 0.0);
}

std::optional<DeviceTimer> Network::mark(size_t layer) {
  if (layer_tag_ != nullptr) *layer_tag_ = layer;
  if (!timing_) return std::nullopt;
  stream(layers_[layer]->device()).synchronize();
  return DeviceTimer(layers_[layer]->device());
}

void Network::charge(size_t layer, const std::optional<DeviceTimer>& since) {
  if (!since) return;
  stream(layers_[layer]->device()).synchronize();
  layer_seconds_[layer] += since->seconds();
}

const OpDesc* missing_op(const ModelSpec& spec, size_t i, const Device& d, Purpose purpose) {
  const LayerSpec& l = spec.layers[i];
  const bool params = l.type == LayerType::conv2d || l.type == LayerType::linear;
  for (const OpDesc* op : layer_ops(l.type, i + 1 == spec.layers.size(), params, purpose))
    if (!d.supports(*op)) return op;
  return nullptr;
}

std::vector<const OpDesc*> layer_ops(LayerType type, bool last, bool has_params, Purpose purpose) {
  std::vector<const OpDesc*> ops;
  if (purpose == Purpose::inference) {
    switch (type) {
      case LayerType::conv2d:
        return {&opdesc::conv2d_forward, &opdesc::bias_add};
      case LayerType::linear:
        return {&opdesc::gemm, &opdesc::bias_add};
      case LayerType::relu:
        return {&opdesc::relu_forward};
      case LayerType::maxpool2d:
        return {&opdesc::maxpool2d_forward};
    }
  }
  switch (type) {
    case LayerType::conv2d:
      ops = {&opdesc::conv2d_forward, &opdesc::conv2d_backward_data, &opdesc::conv2d_backward_weights,
             &opdesc::bias_add, &opdesc::bias_backward};
      break;
    case LayerType::linear:
      ops = {&opdesc::gemm, &opdesc::bias_add, &opdesc::bias_backward};
      break;
    case LayerType::relu:
      ops = {&opdesc::relu_forward, &opdesc::relu_backward};
      break;
    case LayerType::maxpool2d:
      ops = {&opdesc::maxpool2d_forward, &opdesc::maxpool2d_backward};
      break;
  }
  if (last) ops.insert(ops.end(), {&opdesc::softmax_xent_forward, &opdesc::softmax_xent_backward});
  if (has_params) ops.insert(ops.end(), {&opdesc::scale, &opdesc::axpy, &opdesc::mul});
  return ops;
}

}  // namespace tandem::nn
