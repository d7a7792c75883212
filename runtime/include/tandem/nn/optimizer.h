// SGD with momentum and weight decay, updated on each parameter's device, and the
// learning-rate schedules.
#pragma once

#include <string>
#include <vector>

#include "tandem/nn/network.h"

namespace tandem::nn {

enum class Schedule { constant, step, cosine };

struct SgdConfig {
  float lr = 0.05f;
  float momentum = 0.9f;
  float weight_decay = 5e-4f;  ///< applied to prunable weights, not biases
  Schedule schedule = Schedule::cosine;
  int step_epochs = 0;  ///< step schedule: multiply by gamma every step_epochs (0: a third of the run)
  float gamma = 0.1f;
};

/// "constant", "step", "cosine"; throws Error for anything else.
Schedule parse_schedule(const std::string& name);
std::string_view schedule_name(Schedule s);

/// Learning rate for optimizer step `step` of `total_steps` (`steps_per_epoch` per epoch).
float learning_rate(const SgdConfig& c, int64_t step, int64_t total_steps, int64_t steps_per_epoch);

class Sgd {
 public:
  explicit Sgd(SgdConfig c) : config_(c) {}

  /// One update from gradients grads[i] of params[i] (each on the parameter's device):
  ///   g ← g ⊙ mask;  v ← μ·v + g + wd·w;  w ← w − lr·v;  w ← w ⊙ mask
  /// so pruned weights stay exactly zero and gather no momentum.
  void step(Network& net, const std::vector<Param*>& params, const std::vector<const Tensor*>& grads, float lr);

  /// Velocity per parameter (allocated, zero, on first use); saved in checkpoints.
  std::vector<Tensor>& velocity(const std::vector<Param*>& params);
  const SgdConfig& config() const { return config_; }

 private:
  SgdConfig config_;
  std::vector<Tensor> velocity_;
};

}  // namespace tandem::nn
