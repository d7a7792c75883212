// Training on one device (or one device per layer): epochs of shuffled mini-batches, gradient
// accumulation on the device, the optimizer (SGD, Adam or AdamW) with warm-up, schedule and
// gradient clipping, the pruning schedule, evaluation, checkpoints and resume.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tandem/balance.h"
#include "tandem/collectives/auto_codec.h"
#include "tandem/collectives/buckets.h"
#include "tandem/collectives/gradient_sync.h"
#include "tandem/compression/codec.h"
#include "tandem/compression/feedback.h"
#include "tandem/file.h"
#include "tandem/nn/checkpoint.h"
#include "tandem/nn/data.h"
#include "tandem/nn/optimizer.h"
#include "tandem/nn/prune.h"

namespace tandem::nn {

struct TrainConfig {
  std::string model = "cnn";  ///< built-in name or JSON file
  int epochs = 10;
  int64_t batch = 64;  ///< samples per micro-batch
  int accumulate = 1;  ///< micro-batches per optimizer step (gradients averaged on the device)
  /// Most samples one forward/backward pass runs on: larger batches are split into pieces this
  /// size, their gradients summed on the device (the same step, computed in cache-sized parts).
  int64_t chunk = 64;
  /// The optimizer (kind: sgd, adam or adamw), its learning-rate schedule with warm-up, and
  /// gradient clipping (named sgd from when SGD was the only optimizer).
  OptimizerConfig sgd;
  PruneConfig prune;
  /// Each step's gradients go through compress → wire message → decompress (what a rank would
  /// send and its peers rebuild) before the update; Codec::none skips it.
  compression::CodecSpec compress;
  bool error_feedback = false;  ///< keep what the codec drops and add it to the next gradient
  uint64_t seed = 1;
  std::vector<Device> placement;  ///< one device, or one per layer (empty: cpu:0)
  std::string checkpoint_dir;     ///< empty: no checkpoints
  int64_t checkpoint_every = 0;   ///< optimizer steps between checkpoints (0: at each epoch end)
  bool resume = false;            ///< continue from checkpoint_dir's checkpoint
  /// Start afresh although checkpoint_dir holds a checkpoint (replaced at the first checkpoint);
  /// without it (and without resume) such a directory is refused, so that no run is lost by accident.
  bool overwrite_checkpoint = false;
  int64_t max_steps = 0;          ///< stop (with a checkpoint) after this many steps in total; 0: none
  int64_t eval_batch = 500;
  /// Data-parallel training over these ranks (null: this process alone). Each rank runs
  /// `batch` × `accumulate` samples per step from its share of the epoch's order, starting from
  /// rank 0's weights; gradients are averaged through the codec (collectives::GradientSync).
  /// Rank 0 writes checkpoints; every rank reads them on resume.
  std::shared_ptr<collectives::Communicator> comm;
  /// With a communicator: gradients travel in buckets of about this many bytes, packed in the
  /// order backward finishes them; dense buckets overlap with the backward pass. 0: measure the
  /// link and choose (collectives::auto_bucket_bytes). PowerSGD works per tensor (it needs the
  /// matrices' shapes), so it ignores buckets.
  size_t bucket_bytes = 25u << 20;
  /// With buckets and one piece per step: start each bucket's synchronization while backward
  /// still runs (non-blocking collectives). false: blocking collectives after backward.
  bool overlap = true;
  /// > 0: `--compress auto`: after the first (dense) step, each bucket gets the codec with the
  /// least predicted sync time whose relative error stays within this budget
  /// (collectives::choose_codecs). Needs a communicator; `compress` must be none.
  double auto_budget = 0;
  /// With a communicator: `allreduce` (every rank updates all weights from averaged gradients)
  /// or `ps`, a parameter server with colocated shards — the flattened parameters are split
  /// over the ranks; each step workers push gradients (reduce-scatter to the shard owners),
  /// each owner applies the optimizer to its shard with its shard's state (momentum, or Adam's
  /// moments), and workers pull the updated weights (allgather). Same mathematics, optimizer
  /// state 1/ranks the size.
  enum class Sync { allreduce, ps } sync = Sync::allreduce;
  /// With a communicator: split each step's samples over the ranks in proportion to their
  /// measured compute speed (LoadBalancer), re-judged every `balance_every` steps, so a fast
  /// rank does not wait for a slow one; each rank's gradient weighs by its share. The split then
  /// depends on measured times (runs are not bit-reproducible); checkpoints keep it.
  bool balance = false;
  int balance_every = 10;
  /// With `balance`: this rank's compute seconds per sample as the balancer sees them, given the
  /// measured value; empty: the measured value. Lets a test fix the devices' speeds instead of
  /// depending on how fast they happen to run on the machine.
  std::function<double(double measured)> balance_timing;
  /// A fixed split of each step's samples over the ranks (summing to batch × accumulate ×
  /// ranks); empty: equal shares. `balance` starts from it.
  std::vector<int64_t> rank_shares;
};

struct EpochStats {
  int epoch = 0;
  double loss = 0;  ///< mean training loss of the epoch
  double test_accuracy = 0;
  double samples_per_s = 0;      ///< training throughput (measured)
  double seconds = 0;            ///< wall time of the epoch's training steps
  double elapsed = 0;            ///< training seconds since the start of the run (resumed runs: this process)
  double lr = 0;                 ///< at the end of the epoch
  double sparsity = 0;           ///< of the prunable weights
  double compression_ratio = 1;  ///< dense f32 gradient bytes / bytes of the wire messages
  int ranks = 1;
  size_t buckets = 0;  ///< gradient buckets per step (0: per tensor)
  size_t bucket_bytes = 0;
  double comm_seconds = 0;           ///< of `seconds`, spent synchronizing gradients
  double bytes_per_step = 0;         ///< gradient bytes this rank sent per step
  std::vector<int64_t> rank_shares;  ///< each rank's samples per step at the end of the epoch
  /// Some layer ran on a modeled device (fpga-sim): its time is the performance model's, and
  /// `seconds` / `samples_per_s` measure the host simulating it, not the device.
  bool modeled = false;
  /// The epoch's training steps with modeled devices' time in place of their simulation: host
  /// wall time outside the simulator (measured) plus the modeled device time.
  double modeled_seconds = 0;
  double modeled_samples_per_s = 0;  ///< samples / modeled_seconds
};

struct PruneEvent {
  int epoch = 0;
  float target = 0;
  double accuracy_before = 0, accuracy_after = 0;
  std::vector<std::pair<std::string, double>> layer_sparsity;
};

struct StepProgress {
  int epoch = 0;
  int64_t step_in_epoch = 0, steps_per_epoch = 0;
  float loss = 0;
};

class Batches;
class GradientExchange;

class Trainer {
 public:
  Trainer(TrainConfig config, const Dataset& train, const Dataset& test);
  ~Trainer();
  Trainer(const Trainer&) = delete;  // its gradient exchange refers to its configuration and network
  Trainer& operator=(const Trainer&) = delete;

  /// Trains until all epochs are done or max_steps is reached. Returns the epochs finished by
  /// this call (a resumed run continues the epoch numbering).
  std::vector<EpochStats> run(const std::function<void(const StepProgress&)>& on_step = {},
                              const std::function<void(const EpochStats&)>& on_epoch = {});

  /// Test-set accuracy of the current weights.
  double evaluate();
  Network& network() { return *net_; }
  const std::vector<PruneEvent>& prune_events() const { return prune_events_; }
  /// `--compress auto`'s choice per bucket (empty until made, or without auto).
  const std::vector<collectives::CodecChoice>& codec_choices() const;
  /// Every optimizer step's loss so far in this process (mean over its micro-batches).
  const std::vector<float>& step_losses() const { return step_losses_; }
  bool finished() const;
  /// Where checkpoints go: <dir>/checkpoint.tdm (the previous one: checkpoint.prev.tdm).
  std::string checkpoint_path() const;
  std::string previous_checkpoint_path() const;

  void save_checkpoint();
  /// Continues from a checkpoint's contents (what `resume` reads from checkpoint_dir; origin
  /// names it in messages): the model and hyper-parameters must be this run's, the progress
  /// within its epochs, every tensor the shape this run keeps. Everything is checked before
  /// anything is taken; throws Error(invalid_argument) naming origin and what is wrong.
  void resume(CheckpointData data, const std::string& origin);
  /// Weights (masks applied) and the model description, without optimizer state.
  /// fold_batchnorm: as write_model_file's (an inference model).
  void export_model(const std::string& path, bool fold_batchnorm = false) const;

 private:
  struct State;
  void load_checkpoint();
  void maybe_prune(int epoch);

  void require_finite_state(const std::string& what) const;
  [[noreturn]] void diverged(int64_t step, float loss) const;

  TrainConfig config_;
  DirectoryLock checkpoint_lock_;  // rank 0, with a checkpoint directory: held for the run's life
  const Dataset& train_;
  const Dataset& test_;
  // Of train_ and test_ (a CRC over each), taken on first use by a checkpoint's save or resume.
  std::optional<DataFingerprint> train_print_, test_print_;
  const DataFingerprint& data_print(bool train);
  std::unique_ptr<Network> net_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<Batches> batches_;  // the epoch's order and its batches on the devices (runtime/nn/batches.h)
  std::unique_ptr<State> state_;
  int64_t piece_ = 0;                                // samples per forward/backward pass
  std::vector<Tensor> accum_;                        // per-parameter gradient sums when a step has several pieces
  std::unique_ptr<GradientExchange> exchange_;  // allreduce or parameter server (runtime/nn/exchange.h)
  int rank() const { return config_.comm ? config_.comm->rank() : 0; }
  int ranks() const { return config_.comm ? config_.comm->size() : 1; }
  std::unique_ptr<LoadBalancer> balancer_;
  double compute_seconds_ = 0;  // forward + backward since the last rebalance
  int64_t compute_samples_ = 0;
  void rebalance();
  std::vector<PruneEvent> prune_events_;
  std::vector<float> step_losses_;
};

}  // namespace tandem::nn
