#include "tandem/nn/network.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <map>
#include <optional>
#include <set>

#include "lower.h"
#include "tandem/error.h"
#include "tandem/graph/autodiff.h"
#include "tandem/graph/ops.h"
#include "tandem/log.h"

namespace tandem::nn {
namespace {

using graph::ValueId;

// Layer i moves from d to the CPU: said once per process for each (model, layer, device), never
// silently, and not once per step or per replica.
Device fall_back(const ModelSpec& spec, size_t i, const Device& d, const std::string& why) {
  const std::string name = spec.layer_name(i);
  log_once(LogLevel::warn, "fallback " + spec.name + "/" + name + "@" + d.id(),
           "layer " + name + " of " + spec.name + " falls back from " + d.id() + " to cpu:0: " + why);
  return cpu_device();
}

// The device itself when it has every kernel of the layer; otherwise the CPU.
Device fallback_for(const ModelSpec& spec, size_t i, const Device& d, Purpose purpose) {
  const OpDesc* op = missing_op(spec, i, d, purpose);
  return op == nullptr ? d : fall_back(spec, i, d, d.id() + " has no kernel for " + op->name);
}

// The loss on the last layer's device, then the backward pass: returns the loss and, per
// parameter, the value holding its gradient.
std::pair<ValueId, std::vector<ValueId>> add_training(Lowered& m, const Device& last, int64_t batch, int last_layer,
                                                      ValueId* labels) {
  graph::Graph& g = m.g;
  g.set_device(last), g.set_group(last_layer), g.set_backward(true);
  const Shape out = g.value(m.outputs.back()).shape;
  ValueId loss;
  if (out.rank() == 3) {  // a score per token: labels per token, ignore_label where no loss is taken
    *labels = g.input("labels", {batch * out[1]}, DType::i32);
    const ValueId rows = graph::reshape(g, m.outputs.back(), {batch * out[1], out[2]}, "loss.rows");
    loss = graph::softmax_xent(g, rows, *labels, "loss", ignore_label)[0];
  } else {
    *labels = g.input("labels", {batch}, DType::i32);
    loss = graph::softmax_xent(g, m.outputs.back(), *labels, "loss")[0];
  }
  g.set_backward(false);
  return {loss, graph::differentiate(g, loss, m.params)};
}

// The first layer whose calls on its device the device's kernels refuse (a core taking only some
// of its op's calls): the whole graph, at a batch of two, dry-run (tandem/op.h) with zero weights.
std::optional<std::pair<size_t, std::string>> first_refusal(const ModelSpec& spec, const std::vector<Device>& devices,
                                                            Purpose purpose) {
  Lowered m = lower(spec, 2, devices, purpose);
  const std::vector<ParamSpec> ps = m.param_specs, bs = m.buffer_specs;
  for (size_t k = 0; k < ps.size(); ++k) m.g.value(m.params[k]).bound = Tensor::zeros(m.g.value(m.params[k]).device, ps[k].shape);
  for (size_t k = 0; k < bs.size(); ++k) m.g.value(m.buffers[k]).bound = Tensor::zeros(m.g.value(m.buffers[k]).device, bs[k].shape);
  ValueId labels = graph::no_value;
  if (purpose == Purpose::training) {
    add_training(m, devices.back(), 2, static_cast<int>(spec.layers.size()) - 1, &labels);
  }
  std::map<DeviceImpl*, Stream> streams;
  graph::Executor exec(std::move(m.g), [&](const Device& d) -> Stream& {
    return streams.try_emplace(d.impl(), Stream(d)).first->second;
  });
  const graph::Value& in = exec.graph().value(m.input);
  exec.bind(m.input, Tensor::zeros(in.device, in.shape, in.dtype));
  if (labels != graph::no_value) exec.bind(labels, Tensor::zeros(devices.back(), exec.graph().value(labels).shape, DType::i32));
  const ScopedDryRun dry;
  for (size_t i = 0; i < exec.graph().nodes(); ++i) try {
      exec.run(i, i + 1);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::unsupported) throw;
      return std::make_pair(static_cast<size_t>(exec.graph().node(i).group), e.detail());
    }
  return std::nullopt;
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
  }
  // A device that has every kernel may still refuse some calls: those layers go to the CPU too.
  const bool all_cpu = std::all_of(devices_.begin(), devices_.end(), [](const Device& d) { return d == cpu_device(); });
  while (!all_cpu) {
    const auto refused = first_refusal(spec, devices_, purpose);
    if (!refused) break;
    const auto [i, why] = *refused;
    devices_[i] = fall_back(spec, i, devices_[i], why);
  }
  for (const Device& d : devices_)
    if (!streams_.count(d.impl())) streams_.emplace(d.impl(), Stream(d));
  first_param_.assign(layers + 1, 0);
  for (const ParamSpec& p : spec.params()) {
    const Device d = devices_[p.layer];
    params_.push_back({p.name, Tensor::zeros(d, p.shape),
                       purpose == Purpose::training ? Tensor::zeros(d, p.shape) : Tensor(), Tensor(), p.prunable});
    ++first_param_[p.layer + 1];
  }
  for (const ParamSpec& p : spec.buffers())
    buffers_.push_back({p.name, Tensor::zeros(devices_[p.layer], p.shape), Tensor(), Tensor(), false});
  for (size_t i = 0; i < layers; ++i) first_param_[i + 1] += first_param_[i];
}

Network::~Network() = default;

// He-uniform weights, U(−b, b) with b = √(6 / fan_in), suited to ReLU networks; Xavier-uniform
// (b = √(6 / (fan_in + fan_out))) for attention; N(0, 0.02²) within ±2σ for tokens and positions.
void Network::init(uint64_t seed) {
  std::mt19937_64 rng(seed);
  seed_ = seed;
  release_batch();  // dropout masks are keyed by the seed the graphs were built with
  const std::vector<ParamSpec> specs = spec_.params(), buffers = spec_.buffers();
  auto set = [](Param& p, float v) {
    p.value.copy_from_host(std::vector<float>(static_cast<size_t>(p.value.numel()), v).data());
  };
  for (size_t k = 0; k < buffers.size(); ++k) set(buffers_[k], buffers[k].init == ParamInit::ones ? 1.0f : 0.0f);
  for (size_t k = 0; k < params_.size(); ++k) {
    Param& p = params_[k];
    const ParamInit init = specs[k].init;
    if (init == ParamInit::zeros || init == ParamInit::ones) {
      if (init == ParamInit::ones) set(p, 1.0f);
      continue;
    }
    std::vector<float> v(static_cast<size_t>(p.value.numel()));
    if (init == ParamInit::normal_002) {
      std::normal_distribution<float> n(0.0f, 0.02f);
      for (float& x : v)
        do x = n(rng);
        while (std::fabs(x) > 0.04f);
    } else {
      const int64_t fan_out = p.value.shape()[0], fan_in = p.value.numel() / fan_out;
      const float bound = init == ParamInit::he_uniform ? std::sqrt(6.0f / static_cast<float>(fan_in))
                                                        : std::sqrt(6.0f / static_cast<float>(fan_in + fan_out));
      std::uniform_real_distribution<float> u(-bound, bound);
      for (float& x : v) x = u(rng);
    }
    p.value.copy_from_host(v.data());
  }
}

std::vector<Param*> Network::params() {
  std::vector<Param*> out;
  for (Param& p : params_) out.push_back(&p);
  return out;
}

std::vector<Param*> Network::buffers() {
  std::vector<Param*> out;
  for (Param& p : buffers_) out.push_back(&p);
  return out;
}

Device Network::input_device() const { return devices_.front(); }
Device Network::output_device() const { return devices_.back(); }
Stream& Network::stream(const Device& d) { return streams_.at(d.impl()); }

const graph::Graph& Network::graph() const {
  if (last_ == nullptr || !last_->exec)
    throw Error(ErrorKind::invalid_argument, "", "network " + spec_.name, "has no graph before a forward pass");
  return last_->exec->graph();
}
const graph::MemoryPlan& Network::memory_plan() const {
  graph();
  return last_->exec->plan();
}

size_t Network::activation_bytes(const Device& d) const {
  size_t b = 0;
  for (const Pass* p : {&train_, &eval_})
    if (p->exec) b = std::max(b, p->exec->plan().bytes(d));
  return b;
}

void Network::prepare_batch(int64_t batch) {
  if (purpose_ == Purpose::training) last_ = &prepare(train_, batch, Purpose::training);
  else last_ = &prepare(eval_, batch, Purpose::inference);
}

size_t Network::memory_bytes(const Device& d) const {
  size_t b = activation_bytes(d);
  for (const std::vector<Param>* list : {&params_, &buffers_})
    for (const Param& p : *list)
      for (const Tensor* t : {&p.value, &p.grad, &p.mask})
        if (*t && t->device() == d) b += t->nbytes();
  return b;
}

Network::Pass& Network::prepare(Pass& pass, int64_t batch, Purpose purpose) {
  if (batch == pass.batch && pass.exec) return pass;
  pass = Pass{};
  Lowered m = lower(spec_, batch, devices_, purpose, seed_);
  graph::Graph& g = m.g;
  for (size_t k = 0; k < params_.size(); ++k) g.value(m.params[k]).bound = params_[k].value;
  for (size_t k = 0; k < buffers_.size(); ++k) g.value(m.buffers[k]).bound = buffers_[k].value;
  pass.input = m.input, pass.logits = m.outputs.back();
  g.output("logits", pass.logits);
  if (fuse_) {  // before autodiff: the fused nodes' rules derive the backward pass
    graph::fuse_bias_relu_pool(g);
    graph::fuse_relu(g);
    graph::fuse_attention(g);
    if (purpose == Purpose::inference) graph::fold_batchnorm(g);
  }
  if (purpose == Purpose::training) {
    std::vector<ValueId> grads;
    std::tie(pass.loss, grads) =
        add_training(m, devices_.back(), batch, static_cast<int>(devices_.size()) - 1, &pass.labels);
    g.output("loss", pass.loss);
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
    pass.forward_end = g.nodes();
    for (size_t i = g.nodes(); i-- > 0;)
      if (g.node(i).backward) pass.forward_end = i;
    for (size_t i = 0; i < g.nodes(); ++i)
      if (g.node(i).op == &graph::opdef::softmax_xent_backward) pass.loss_grad_node = i;
    pass.grads_final.assign(devices_.size(), 0);
    for (size_t k = 0; k < params_.size(); ++k) {
      const size_t at = static_cast<size_t>(g.value(grads[k]).producer);
      size_t& final = pass.grads_final[static_cast<size_t>(g.node(at).group)];
      final = std::max(final, at);
    }
  } else {
    g.remove_dead_nodes();
    pass.forward_end = g.nodes();
  }
  g.validate();
  pass.exec = std::make_unique<graph::Executor>(std::move(g), [this](const Device& d) -> Stream& { return stream(d); });
  pass.batch = batch;
  return pass;
}

void Network::release_batch() {
  train_ = Pass{}, eval_ = Pass{};
  last_ = nullptr;
}

void Network::set_fusion(bool on) {
  if (on != fuse_) release_batch();
  fuse_ = on;
}

void Network::set_step(uint32_t step, uint64_t first_sample) { step_ = step, first_sample_ = first_sample; }

const Tensor& Network::run_forward(Pass& pass, const Tensor& input, Purpose purpose) {
  std::vector<int64_t> d{input.shape().rank() > 0 ? input.shape()[0] : 0};
  d.insert(d.end(), spec_.input.begin(), spec_.input.end());
  const Shape want{std::span<const int64_t>(d)};
  const DType dtype = spec_.token_input() ? DType::i32 : DType::f32;
  if (!(input.shape() == want) || input.dtype() != dtype || want[0] < 1)
    throw Error(ErrorKind::invalid_argument, input.device().id(), "network " + spec_.name,
                "input " + input.str() + " does not match the model's " + std::string(dtype_name(dtype)) + want.str());
  prepare(pass, input.shape()[0], purpose);
  graph::Executor& exec = *pass.exec;
  for (size_t i = 0; i < exec.graph().nodes(); ++i)
    if (exec.graph().node(i).op == &graph::opdef::dropout || exec.graph().node(i).op == &graph::opdef::dropout_backward) {
      const graph::Value& x = exec.graph().value(exec.graph().node(i).inputs[0]);
      exec.node(i).attrs.set("step", step_);
      exec.node(i).attrs.set("offset", static_cast<double>(first_sample_ * static_cast<uint64_t>(x.shape.numel() / x.shape[0])));
    }
  exec.bind(pass.input, input);
  last_ = &pass;
  exec.run(0, pass.forward_end, [&](size_t i) { timer_ = mark(exec.graph().node(i)); },
           [&](size_t i) { charge(exec.graph().node(i), timer_); });
  return exec.tensor(pass.logits);
}

const Tensor& Network::forward(const Tensor& input) {
  return purpose_ == Purpose::training ? run_forward(train_, input, Purpose::training)
                                       : run_forward(eval_, input, Purpose::inference);
}

const Tensor& Network::infer(const Tensor& input) { return run_forward(eval_, input, Purpose::inference); }

float Network::backward(const Tensor& labels, const std::function<void(size_t, size_t)>& on_ready, float loss_scale) {
  if (purpose_ != Purpose::training)
    throw Error(ErrorKind::unsupported, "", "network " + spec_.name, "built for inference: no backward pass");
  if (last_ != &train_ || !train_.exec)
    throw Error(ErrorKind::invalid_argument, "", "network " + spec_.name, "backward without a training forward pass");
  graph::Executor& exec = *train_.exec;
  exec.bind(train_.labels, labels);
  exec.node(train_.loss_grad_node).attrs.set("dloss", loss_scale);
  exec.run(
      train_.forward_end, exec.graph().nodes(), [&](size_t i) { timer_ = mark(exec.graph().node(i)); },
      [&](size_t i) {
        charge(exec.graph().node(i), timer_);
        if (!on_ready) return;
        for (size_t l = 0; l < devices_.size(); ++l)
          if (first_param_[l + 1] > first_param_[l] && train_.grads_final[l] == i) {
            stream(devices_[l]).synchronize();
            on_ready(first_param_[l], first_param_[l + 1] - first_param_[l]);
          }
      });
  float loss = 0;
  exec.tensor(train_.loss).copy_to_host(&loss);
  return loss;
}

void Network::time_layers(bool on) {
  timing_ = on;
  layer_seconds_.assign(devices_.size(), 0.0);
}

std::optional<DeviceTimer> Network::mark(const graph::Node& n) {
  if (layer_tag_ != nullptr) *layer_tag_ = static_cast<size_t>(n.group);
  if (!timing_) return std::nullopt;
  stream(n.device).synchronize();
  return DeviceTimer(n.device);
}

void Network::charge(const graph::Node& n, const std::optional<DeviceTimer>& since) {
  if (!since) return;
  stream(n.device).synchronize();
  layer_seconds_[static_cast<size_t>(n.group)] += since->seconds();
}

// Lowered at a batch of two: at one, a sample-shaped parameter added to the batch ([1, T, D] +
// [1, T, D]: a position table) would be a plain add, where every real batch broadcasts.
std::vector<const OpDesc*> layer_kernels(const ModelSpec& spec, size_t i, Purpose purpose) {
  Lowered m = lower(spec, 2, {cpu_device()}, purpose);
  const bool training = purpose == Purpose::training;
  if (training) {
    ValueId labels;
    add_training(m, cpu_device(), 2, static_cast<int>(spec.layers.size()) - 1, &labels);
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

ExampleBatch example_batch(const ModelSpec& spec, int64_t batch, uint64_t seed) {
  std::mt19937_64 rng(seed * 1000003u + static_cast<uint64_t>(batch));
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  ExampleBatch b;
  std::vector<int64_t> dims{batch};
  dims.insert(dims.end(), spec.input.begin(), spec.input.end());
  b.input_shape = Shape(std::span<const int64_t>(dims));
  const std::string what = spec.name + " input at batch " + std::to_string(batch);
  if (spec.token_input()) {
    b.ids = host_vector(static_cast<size_t>(b.input_shape.numel()), int32_t{0}, what);
    for (int32_t& v : b.ids) v = static_cast<int32_t>(rng() % static_cast<uint64_t>(spec.vocab));
  } else {
    b.pixels = host_vector(static_cast<size_t>(b.input_shape.numel()), 0.0f, what);
    for (float& v : b.pixels) v = u(rng);
  }
  b.labels_shape = Shape{spec.per_token_output() ? b.input_shape.numel() : batch};
  b.labels = host_vector(static_cast<size_t>(b.labels_shape.numel()), int32_t{0}, what);
  for (int32_t& v : b.labels) v = static_cast<int32_t>(rng() % static_cast<uint64_t>(spec.classes));
  return b;
}

Tensor ExampleBatch::input(const Device& d) const {
  return ids.empty() ? Tensor::from_vector(d, input_shape, pixels) : Tensor::from_vector(d, input_shape, ids);
}

Tensor ExampleBatch::label_tensor(const Device& d) const { return Tensor::from_vector(d, labels_shape, labels); }

}  // namespace tandem::nn
