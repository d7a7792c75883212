#include "tandem/nn/optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <utility>

#include "tandem/error.h"

namespace tandem::nn {
namespace {

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorKind::invalid_argument, "", "optimizer", what); }

std::string shown(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

Schedule parse_schedule(const std::string& name) {
  for (Schedule s : {Schedule::constant, Schedule::step, Schedule::cosine})
    if (schedule_name(s) == name) return s;
  throw Error(ErrorKind::invalid_argument, "", "schedule", "unknown schedule '" + name + "' (constant, step, cosine)");
}

std::string_view schedule_name(Schedule s) {
  switch (s) {
    case Schedule::constant:
      return "constant";
    case Schedule::step:
      return "step";
    case Schedule::cosine:
      return "cosine";
  }
  return "?";
}

OptimizerKind parse_optimizer(const std::string& name) {
  for (OptimizerKind k : {OptimizerKind::sgd, OptimizerKind::adam, OptimizerKind::adamw})
    if (optimizer_name(k) == name) return k;
  throw Error(ErrorKind::invalid_argument, "", "optimizer", "unknown optimizer '" + name + "' (sgd, adam, adamw)");
}

std::string_view optimizer_name(OptimizerKind k) {
  switch (k) {
    case OptimizerKind::sgd:
      return "sgd";
    case OptimizerKind::adam:
      return "adam";
    case OptimizerKind::adamw:
      return "adamw";
  }
  return "?";
}

void check_optimizer_config(const OptimizerConfig& c) {
  const auto unit = [](const char* what, float v) {
    if (!(v >= 0.0f && v < 1.0f)) bad(std::string(what) + " = " + shown(v) + " is not in [0, 1)");
  };
  if (!(c.lr > 0.0f) || !std::isfinite(c.lr)) bad("lr = " + shown(c.lr) + " is not a finite number > 0");
  unit("momentum", c.momentum);
  unit("beta1", c.beta1);
  unit("beta2", c.beta2);
  if (!(c.eps > 0.0f) || !std::isfinite(c.eps)) bad("eps = " + shown(c.eps) + " is not a finite number > 0");
  if (!(c.weight_decay >= 0.0f) || !std::isfinite(c.weight_decay))
    bad("weight decay = " + shown(c.weight_decay) + " is not a finite number ≥ 0");
  if (c.warmup_steps < 0) bad("warmup_steps = " + std::to_string(c.warmup_steps) + " is negative");
  if (!(c.clip_norm >= 0.0f) || !std::isfinite(c.clip_norm))
    bad("clip_norm = " + shown(c.clip_norm) + " is not a finite number ≥ 0 (0: no clipping)");
}

float learning_rate(const OptimizerConfig& c, int64_t step, int64_t total_steps, int64_t steps_per_epoch) {
  if (c.warmup_steps > 0) {
    if (step < c.warmup_steps)
      return static_cast<float>(static_cast<double>(c.lr) * static_cast<double>(step + 1) /
                                static_cast<double>(c.warmup_steps));
    step -= c.warmup_steps;  // the schedule starts where the warm-up ends
    total_steps = std::max<int64_t>(0, total_steps - c.warmup_steps);
  }
  switch (c.schedule) {
    case Schedule::constant:
      return c.lr;
    case Schedule::step: {
      const int64_t epochs = total_steps / std::max<int64_t>(1, steps_per_epoch);
      const int64_t every = c.step_epochs > 0 ? c.step_epochs : std::max<int64_t>(1, epochs / 3);
      const int64_t drops = step / std::max<int64_t>(1, steps_per_epoch) / every;
      return c.lr * static_cast<float>(std::pow(c.gamma, static_cast<double>(drops)));
    }
    case Schedule::cosine:
      return static_cast<float>(c.lr * 0.5 *
                                (1.0 + std::cos(std::numbers::pi * static_cast<double>(step) /
                                                static_cast<double>(std::max<int64_t>(1, total_steps)))));
  }
  return c.lr;
}

std::vector<std::vector<Tensor>>& Optimizer::state(const std::vector<Param*>& params) {
  bool same = state_.size() == params.size();
  for (size_t i = 0; same && i < params.size(); ++i)
    same = !state_[i].empty() && state_[i][0].device() == params[i]->value.device() &&
           state_[i][0].shape() == params[i]->value.shape();
  if (!same) {
    const size_t slots = state_names().size();
    state_.clear();
    for (const Param* p : params) {
      std::vector<Tensor>& mine = state_.emplace_back();
      for (size_t k = 0; k < slots; ++k) mine.push_back(Tensor::zeros(p->value.device(), p->value.shape()));
    }
  }
  return state_;
}

void Optimizer::step(Network& net, const std::vector<Param*>& params, const std::vector<const Tensor*>& grads,
                     float lr) {
  std::vector<std::vector<Tensor>>& st = state(params);
  advance();
  for (size_t i = 0; i < params.size(); ++i) {
    Param& p = *params[i];
    update(net.stream(p.value.device()), p.value, *grads[i], st[i], p.mask, p.prunable ? config_.weight_decay : 0.0f,
           lr);
  }
}

void Sgd::update(Stream& s, const Tensor& w, const Tensor& g, const std::vector<Tensor>& state, const Tensor& mask,
                 float weight_decay, float lr) {
  const Tensor& v = state[0];
  if (mask) ops::mul(s, g, mask, g);
  ops::scale(s, config_.momentum, v);
  ops::axpy(s, 1.0f, g, v);
  if (weight_decay != 0.0f) ops::axpy(s, weight_decay, w, v);
  ops::axpy(s, -lr, v, w);
  if (mask) ops::mul(s, w, mask, w);
}

std::vector<Tensor> Sgd::velocity(const std::vector<Param*>& params) {
  std::vector<Tensor> out;
  for (const std::vector<Tensor>& st : state(params)) out.push_back(st[0]);
  return out;
}

Adam::Adam(OptimizerConfig c) : Optimizer(c) {
  if (c.kind != OptimizerKind::adam && c.kind != OptimizerKind::adamw)
    bad("Adam is made for kind adam or adamw, not " + std::string(optimizer_name(c.kind)));
}

void Adam::update(Stream& s, const Tensor& w, const Tensor& g, const std::vector<Tensor>& state, const Tensor& mask,
                  float weight_decay, float lr) {
  const Tensor &m = state[0], &v = state[1];
  if (mask) ops::mul(s, g, mask, g);
  const AdamParams p = adam_params(lr, config_.beta1, config_.beta2, config_.eps, weight_decay,
                                   config_.kind == OptimizerKind::adamw, std::max<int64_t>(1, steps()));
  if (w.device().supports(opdesc::adam_update)) {
    ops::adam_update(s, g, w, m, v, p);
  } else {  // a device without the kernel (the FPGA model has no core for it): the CPU's, on copies
    const Device cpu = cpu_device();
    const auto copy = [&](const Tensor& t) { return Tensor::from_vector(cpu, t.shape(), t.to_f32()); };
    const Tensor cg = copy(g), cw = copy(w), cm = copy(m), cv = copy(v);
    Stream host(cpu);
    ops::adam_update(host, cg, cw, cm, cv, p);
    host.synchronize();
    for (const auto& [from, to] : {std::pair{&cw, &w}, std::pair{&cm, &m}, std::pair{&cv, &v}})
      to->copy_from_host(from->data());
  }
  if (mask) {
    ops::mul(s, w, mask, w);
    ops::mul(s, m, mask, m);
    ops::mul(s, v, mask, v);
  }
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& c) {
  check_optimizer_config(c);
  if (c.kind == OptimizerKind::sgd) return std::make_unique<Sgd>(c);
  return std::make_unique<Adam>(c);
}

double grad_norm(Network& net, const std::vector<Param*>& params, const std::vector<const Tensor*>& grads) {
  constexpr int64_t chunk = int64_t{1} << 16;  // partial norms per 64 Ki elements, read back together
  std::vector<Tensor> partial(grads.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    const Tensor& g = *grads[i];
    const int64_t n = g.numel();
    if (n == 0) continue;
    Stream& s = net.stream(g.device());
    if (params[i]->mask) ops::mul(s, g, params[i]->mask, g);
    if (!g.device().supports(opdesc::chunk_norm2)) continue;  // summed on the host below
    partial[i] = Tensor::empty(g.device(), {(n + chunk - 1) / chunk});
    ops::chunk_norm2(s, g.reshape({n}), partial[i], {chunk});
  }
  double sum = 0;
  for (size_t i = 0; i < grads.size(); ++i) {
    if (grads[i]->numel() == 0) continue;
    if (partial[i]) {
      for (float r : partial[i].to_f32()) sum += static_cast<double>(r) * static_cast<double>(r);
    } else {
      for (float x : grads[i]->to_f32()) sum += static_cast<double>(x) * static_cast<double>(x);
    }
  }
  return std::sqrt(sum);
}

double clip_grad_norm(Network& net, const std::vector<Param*>& params, const std::vector<const Tensor*>& grads,
                      float max_norm) {
  const double norm = grad_norm(net, params, grads);
  if (max_norm > 0.0f && norm > static_cast<double>(max_norm)) {
    const auto factor = static_cast<float>(static_cast<double>(max_norm) / norm);
    for (const Tensor* g : grads) ops::scale(net.stream(g->device()), factor, *g);
  }
  return norm;
}

}  // namespace tandem::nn
