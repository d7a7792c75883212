#include "tandem/nn/optimizer.h"

#include <cmath>
#include <numbers>

#include "tandem/error.h"

namespace tandem::nn {

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

float learning_rate(const SgdConfig& c, int64_t step, int64_t total_steps, int64_t steps_per_epoch) {
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

std::vector<Tensor>& Sgd::velocity(const std::vector<Param*>& params) {
  if (velocity_.size() != params.size()) {
    velocity_.clear();
    for (const Param* p : params) velocity_.push_back(Tensor::zeros(p->value.device(), p->value.shape()));
  }
  return velocity_;
}

void Sgd::step(Network& net, const std::vector<Param*>& params, const std::vector<const Tensor*>& grads, float lr) {
  std::vector<Tensor>& vel = velocity(params);
  for (size_t i = 0; i < params.size(); ++i) {
    Param& p = *params[i];
    const Tensor& g = *grads[i];
    Stream& s = net.stream(p.value.device());
    if (p.mask) ops::mul(s, g, p.mask, g);
    ops::scale(s, config_.momentum, vel[i]);
    ops::axpy(s, 1.0f, g, vel[i]);
    if (p.prunable && config_.weight_decay != 0.0f) ops::axpy(s, config_.weight_decay, p.value, vel[i]);
    ops::axpy(s, -lr, vel[i], p.value);
    if (p.mask) ops::mul(s, p.value, p.mask, p.value);
  }
}

}  // namespace tandem::nn
