#include "tandem/nn/network.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "lower.h"
#include "tandem/error.h"
#include "tandem/graph/autodiff.h"
#include "tandem/graph/ops.h"
#include "tandem/log.h"

namespace tandem::nn {
namespace {

using graph::ValueId;

// The device itself when it has every kernel of the layer; otherwise the CPU, said once per
// process for each (model, layer, device): never silently, and not once per step or per replica.
Device fallback_for(const ModelSpec& spec, size_t i, const Device& d, Purpose purpose) {
  const OpDesc* op = missing_op(spec, i, d, purpose);
  if (op == nullptr) return d;
  const std::string name = spec.layer_name(i);
  log_once(LogLevel::warn, "fallback " + spec.name + "/" + name + "@" + d.id(),
           "layer " + name + " of " + spec.name + " falls back from " + d.id() + " to cpu:0: " + d.id() +
               " has no kernel for " + op->name);
  return cpu_device();
}

// The loss on the last layer's device, then the backward pass: returns the loss and, per
// parameter, the value holding its gradient.
std::pair<ValueId, std::vector<ValueId>> add_training(Lowered& m, const Device& last, int64_t batch, int last_layer,
                                                      ValueId* labels) {
  graph::Graph& g = m.g;
  g.set_device(last), g.set_group(last_layer), g.set_backward(true);
  *labels = g.input("labels", {batch}, DType::i32);
  const ValueId loss = graph::softmax_xent(g, m.outputs.back(), *labels, "loss")[0];
  g.set_backward(false);
  return {loss, graph::differentiate(g, loss, m.params)};
}

}  // namespace

Network::Network(const ModelSpec& spec, const std::vector<Device>& placement, Purpose purpose)
    : spec_(spec), purpose_(purpose) {
  const size_t layers = spec.layers.size();
  if (placement.size() != 1 && placement.size() != layers)
    throw Error(ErrorKind::invalid_argument, "", "network " + spec.name,
                "placement names " + std::to_string(placement.size()) + " devices for " + std::to_string(layers) +
                    " layers (give one, or one per layer)");
  for (size_t i = 0; i < layers; ++i) {
    const Device d = placement.size() == 1 ? placement[0] : placement[i];
    if (!d) throw Error(ErrorKind::invalid_argument, "", "network " + spec.name, "no device for layer " + spec.layers[i].name);
    devices_.push_back(fallback_for(spec, i, d, purpose));
    if (!streams_.count(devices_.back().impl())) streams_.emplace(devices_.back().impl(), Stream(devices_.back()));
  }
  first_param_.assign(layers + 1, 0);
  for (const ParamSpec& p : spec.params()) {
    const Device d = devices_[p.layer];
    params_.push_back({p.name, Tensor::zeros(d, p.shape),
                       purpose == Purpose::training ? Tensor::zeros(d, p.shape) : Tensor(), Tensor(), p.prunable});
    ++first_param_[p.layer + 1];
  }
  for (size_t i = 0; i < layers; ++i) first_param_[i + 1] += first_param_[i];
}

Network::~Network() = default;

// He-uniform weights, U(−b, b) with b = √(6 / fan_in), suited to ReLU networks; biases stay zero.
void Network::init(uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (Param& p : params_) {
    if (!p.prunable) continue;
    const int64_t fan_in = p.value.numel() / p.value.shape()[0];
    const float bound = std::sqrt(6.0f / static_cast<float>(fan_in));
    std::uniform_real_distribution<float> u(-bound, bound);
    std::vector<float> v(static_cast<size_t>(p.value.numel()));
    for (float& x : v) x = u(rng);
    p.value.copy_from_host(v.data());
  }
}

std::vector<Param*> Network::params() {
  std::vector<Param*> out;
  for (Param& p : params_) out.push_back(&p);
  return out;
}

Device Network::input_device() const { return devices_.front(); }
Device Network::output_device() const { return devices_.back(); }
Stream& Network::stream(const Device& d) { return streams_.at(d.impl()); }

const graph::Graph& Network::graph() const {
  if (!exec_) throw Error(ErrorKind::invalid_argument, "", "network " + spec_.name, "has no graph before a forward pass");
  return exec_->graph();
}
const graph::MemoryPlan& Network::memory_plan() const {
  graph();
  return exec_->plan();
}

size_t Network::memory_bytes(const Device& d) const {
  size_t b = exec_ ? exec_->plan().bytes(d) : 0;
  for (const Param& p : params_)
    for (const Tensor* t : {&p.value, &p.grad, &p.mask})
      if (*t && t->device() == d) b += t->nbytes();
  return b;
}

void Network::allocate(int64_t batch) {
  if (batch == batch_ && exec_) return;
  exec_.reset();
  Lowered m = lower(spec_, batch, devices_, purpose_);
  graph::Graph& g = m.g;
  for (size_t k = 0; k < params_.size(); ++k) g.value(m.params[k]).bound = params_[k].value;
  input_ = m.input, logits_ = m.outputs.back();
  g.output("logits", logits_);
  if (purpose_ == Purpose::training) {
    std::vector<ValueId> grads;
    std::tie(loss_, grads) = add_training(m, devices_.back(), batch, static_cast<int>(devices_.size()) - 1, &labels_);
    g.output("loss", loss_);
    // A gradient lands in its Param::grad when its value is the parameter's alone; otherwise
    // (it is another value's too, or a view) a copy of it does.
    const auto readers = g.consumers();
    const std::vector<ParamSpec> specs = spec_.params();
    std::set<ValueId> taken;
    for (size_t k = 0; k < params_.size(); ++k) {
      ValueId v = grads[k];
      const graph::Value& val = g.value(v);
      const bool own = val.kind == graph::ValueKind::activation && val.producer >= 0 && !val.bound &&
                       readers[static_cast<size_t>(v)].empty() && !g.node(static_cast<size_t>(val.producer)).op->view &&
                       !taken.count(v);
      if (!own) {
        g.set_device(params_[k].value.device()), g.set_group(static_cast<int>(specs[k].layer)), g.set_backward(true);
        v = graph::copy(g, v, params_[k].name + ".grad");
      }
      taken.insert(v);
      g.value(v).bound = params_[k].grad;
      grads[k] = v;
    }
    g.remove_dead_nodes();
    forward_end_ = g.nodes();
    for (size_t i = g.nodes(); i-- > 0;)
      if (g.node(i).backward) forward_end_ = i;
    for (size_t i = 0; i < g.nodes(); ++i)
      if (g.node(i).op == &graph::opdef::softmax_xent_backward) loss_grad_node_ = i;
    grads_final_.assign(devices_.size(), 0);
    for (size_t k = 0; k < params_.size(); ++k) {
      const size_t layer = static_cast<size_t>(g.node(static_cast<size_t>(g.value(grads[k]).producer)).group);
      grads_final_[layer] = std::max(grads_final_[layer], static_cast<size_t>(g.value(grads[k]).producer));
    }
  } else {
    g.remove_dead_nodes();
    forward_end_ = g.nodes();
  }
  g.validate();
  exec_ = std::make_unique<graph::Executor>(std::move(g), [this](const Device& d) -> Stream& { return stream(d); });
  batch_ = batch;
}

void Network::release_batch() {
  exec_.reset();
  batch_ = 0;
}

const Tensor& Network::forward(const Tensor& input) {
  std::vector<int64_t> d{input.shape().rank() > 0 ? input.shape()[0] : 0};
  d.insert(d.end(), spec_.input.begin(), spec_.input.end());
  const Shape want{std::span<const int64_t>(d)};
  if (!(input.shape() == want) || input.dtype() != DType::f32 || want[0] < 1)
    throw Error(ErrorKind::invalid_argument, input.device().id(), "network " + spec_.name,
                "input " + input.str() + " does not match the model's f32" + want.str());
  allocate(input.shape()[0]);
  exec_->bind(input_, input);
  exec_->run(0, forward_end_, [this](size_t i) { timer_ = mark(i); }, [this](size_t i) { charge(i, timer_); });
  return exec_->tensor(logits_);
}

float Network::backward(const Tensor& labels, const std::function<void(size_t, size_t)>& on_ready, float loss_scale) {
  if (purpose_ != Purpose::training)
    throw Error(ErrorKind::unsupported, "", "network " + spec_.name, "built for inference: no backward pass");
  if (!exec_) throw Error(ErrorKind::invalid_argument, "", "network " + spec_.name, "backward before a forward pass");
  exec_->bind(labels_, labels);
  exec_->node(loss_grad_node_).attrs.set("dloss", loss_scale);
  exec_->run(
      forward_end_, exec_->graph().nodes(), [this](size_t i) { timer_ = mark(i); },
      [&](size_t i) {
        charge(i, timer_);
        if (!on_ready) return;
        for (size_t l = 0; l < devices_.size(); ++l)
          if (first_param_[l + 1] > first_param_[l] && grads_final_[l] == i) {
            stream(devices_[l]).synchronize();
            on_ready(first_param_[l], first_param_[l + 1] - first_param_[l]);
          }
      });
  float loss = 0;
  exec_->tensor(loss_).copy_to_host(&loss);
  return loss;
}

void Network::time_layers(bool on) {
  timing_ = on;
  layer_seconds_.assign(devices_.size(), 0.0);
}

std::optional<DeviceTimer> Network::mark(size_t node) {
  const graph::Node& n = exec_->graph().node(node);
  if (layer_tag_ != nullptr) *layer_tag_ = static_cast<size_t>(n.group);
  if (!timing_) return std::nullopt;
  stream(n.device).synchronize();
  return DeviceTimer(n.device);
}

void Network::charge(size_t node, const std::optional<DeviceTimer>& since) {
  if (!since) return;
  const graph::Node& n = exec_->graph().node(node);
  stream(n.device).synchronize();
  layer_seconds_[static_cast<size_t>(n.group)] += since->seconds();
}

std::vector<const OpDesc*> layer_kernels(const ModelSpec& spec, size_t i, Purpose purpose) {
  Lowered m = lower(spec, 1, {cpu_device()}, purpose);
  const bool training = purpose == Purpose::training;
  if (training) {
    ValueId labels;
    add_training(m, cpu_device(), 1, static_cast<int>(spec.layers.size()) - 1, &labels);
  }
  std::vector<const OpDesc*> ops;
  auto take = [&](const OpDesc* op) {
    if (std::find(ops.begin(), ops.end(), op) == ops.end()) ops.push_back(op);
  };
  for (size_t n = 0; n < m.g.nodes(); ++n)
    if (m.g.node(n).group == static_cast<int>(i))
      for (const OpDesc* op : m.g.node(n).op->kernels) take(op);
  bool has_params = false;
  for (const ParamSpec& p : m.param_specs) has_params = has_params || p.layer == i;
  if (training && has_params)
    for (const OpDesc* op : {&opdesc::scale, &opdesc::axpy, &opdesc::mul}) take(op);  // the optimizer's
  return ops;
}

const OpDesc* missing_op(const ModelSpec& spec, size_t i, const Device& d, Purpose purpose) {
  for (const OpDesc* op : layer_kernels(spec, i, purpose))
    if (!d.supports(*op)) return op;
  return nullptr;
}

}  // namespace tandem::nn
