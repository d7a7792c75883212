// The optimizers — SGD with momentum, Adam and AdamW — updated on each parameter's device, the
// learning-rate schedules with linear warm-up, and global-norm gradient clipping.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tandem/nn/network.h"

namespace tandem::nn {

enum class Schedule { constant, step, cosine };

/// sgd: momentum and L2 weight decay; adam: torch.optim.Adam (weight decay added to the gradient);
/// adamw: torch.optim.AdamW (decoupled weight decay, w ← w − lr·wd·w).
enum class OptimizerKind { sgd, adam, adamw };

struct OptimizerConfig {
  float lr = 0.05f;
  float momentum = 0.9f;       ///< sgd
  float weight_decay = 5e-4f;  ///< applied to prunable weights, not biases
  Schedule schedule = Schedule::cosine;
  int step_epochs = 0;  ///< step schedule: multiply by gamma every step_epochs (0: a third of the run)
  float gamma = 0.1f;
  OptimizerKind kind = OptimizerKind::sgd;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  ///< adam, adamw
  /// Steps of linear warm-up before the schedule: lr·(t + 1)/warmup_steps at step t < warmup_steps,
  /// then the schedule over the remaining steps (as if the run started after the warm-up).
  int64_t warmup_steps = 0;
  /// > 0: each step's gradients (after exchange between ranks, masks applied) are scaled by
  /// min(1, clip_norm/‖g‖₂), ‖g‖₂ over all parameters together (clip_grad_norm). 0: off.
  float clip_norm = 0.0f;
};
using SgdConfig = OptimizerConfig;  ///< the name from when SGD was the only optimizer

/// "constant", "step", "cosine"; throws Error for anything else.
Schedule parse_schedule(const std::string& name);
std::string_view schedule_name(Schedule s);
/// "sgd", "adam", "adamw"; throws Error for anything else.
OptimizerKind parse_optimizer(const std::string& name);
std::string_view optimizer_name(OptimizerKind k);

/// Throws Error(invalid_argument) naming the first setting out of its range: lr > 0, momentum
/// and betas in [0, 1), eps > 0, weight decay ≥ 0, warmup_steps ≥ 0, clip_norm ≥ 0 (all finite).
void check_optimizer_config(const OptimizerConfig& c);

/// Learning rate for optimizer step `step` (0-based) of `total_steps` (`steps_per_epoch` per
/// epoch): lr·(step + 1)/W during the W = warmup_steps first steps, then the schedule at step − W
/// of total_steps − W (the step schedule's epochs counted from the end of the warm-up).
float learning_rate(const OptimizerConfig& c, int64_t step, int64_t total_steps, int64_t steps_per_epoch);

/// An optimizer: per-parameter state tensors on each parameter's device (allocated, zero, on
/// first use) and the number of steps taken. Checkpoints save state tensor k of parameter p as
/// "<state_names()[k]>:<p>" and the step count; restoring both continues bit for bit.
class Optimizer {
 public:
  explicit Optimizer(OptimizerConfig c) : config_(c) {}
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// sgd: {"velocity"}; adam, adamw: {"adam_m", "adam_v"} (first and second moments).
  virtual std::vector<std::string> state_names() const = 0;

  /// One step over all parameters from gradients grads[i] of params[i] (each on the parameter's
  /// device): advance(), then update() of each parameter with its mask and weight decay (prunable
  /// weights only). Masked gradients are zeroed first (the gradient tensors are modified), so
  /// pruned weights stay exactly zero and gather no new state (Adam's moments there are zeroed).
  void step(Network& net, const std::vector<Param*>& params, const std::vector<const Tensor*>& grads, float lr);

  /// The update of one tensor w (or a view of consecutive elements sharing one weight decay, as a
  /// parameter server's shard holds them) at the current step count, on stream s: state holds
  /// state_names().size() tensors shaped as w; mask is empty or shaped as w. g is masked in place.
  virtual void update(Stream& s, const Tensor& w, const Tensor& g, const std::vector<Tensor>& state, const Tensor& mask,
                      float weight_decay, float lr) = 0;

  /// Counts one step: step() calls it before its updates; a caller of update() calls it once per step.
  void advance() { ++steps_; }
  /// Steps taken (Adam's t after the step's advance()).
  int64_t steps() const { return steps_; }
  void set_steps(int64_t t) { steps_ = t; }

  /// state(params)[i][k]: state tensor k of params[i] (allocated, zero, on first use, or when the
  /// parameters change).
  std::vector<std::vector<Tensor>>& state(const std::vector<Param*>& params);
  const OptimizerConfig& config() const { return config_; }
  OptimizerKind kind() const { return config_.kind; }

 protected:
  OptimizerConfig config_;

 private:
  int64_t steps_ = 0;
  std::vector<std::vector<Tensor>> state_;
};

class Sgd final : public Optimizer {
 public:
  explicit Sgd(OptimizerConfig c) : Optimizer(c) { config_.kind = OptimizerKind::sgd; }
  std::vector<std::string> state_names() const override { return {"velocity"}; }
  ///   g ← g ⊙ mask;  v ← μ·v + g + wd·w;  w ← w − lr·v;  w ← w ⊙ mask
  void update(Stream& s, const Tensor& w, const Tensor& g, const std::vector<Tensor>& state, const Tensor& mask,
              float weight_decay, float lr) override;
  /// Velocity per parameter (allocated, zero, on first use; tensors sharing the state's storage).
  std::vector<Tensor> velocity(const std::vector<Param*>& params);
};

/// Adam (config kind adam) or AdamW (adamw), as torch.optim computes them (ops::adam_update):
///   g ← g ⊙ mask;  t ← t + 1;  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;
///   w ← w − lr·m̂/(√v̂ + eps), m̂ = m/(1 − β1^t), v̂ = v/(1 − β2^t);  w, m, v ← ⊙ mask
/// with weight decay added to g first (adam) or w ← w − lr·wd·w first (adamw).
class Adam final : public Optimizer {
 public:
  /// Throws Error(invalid_argument) unless c.kind is adam or adamw.
  explicit Adam(OptimizerConfig c);
  std::vector<std::string> state_names() const override { return {"adam_m", "adam_v"}; }
  void update(Stream& s, const Tensor& w, const Tensor& g, const std::vector<Tensor>& state, const Tensor& mask,
              float weight_decay, float lr) override;
};

/// The optimizer c.kind names, after check_optimizer_config(c).
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& c);

/// The global 2-norm of the gradients (masked first where a parameter has a mask), each tensor's
/// norm computed on its device (ops::chunk_norm2, summed in f64), their squares summed on the host.
double grad_norm(Network& net, const std::vector<Param*>& params, const std::vector<const Tensor*>& grads);
/// Global-norm clipping (as torch.nn.utils.clip_grad_norm_, without its 1e-6): when the global
/// norm exceeds max_norm > 0, every gradient is scaled by max_norm/norm on its device, so the
/// norm becomes max_norm. Returns the norm before clipping.
double clip_grad_norm(Network& net, const std::vector<Param*>& params, const std::vector<const Tensor*>& grads,
                      float max_norm);

}  // namespace tandem::nn
