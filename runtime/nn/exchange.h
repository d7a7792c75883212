// The gradient exchange: how a step's gradients, once backward has made them, become the
// weights' update — the one interface the training loop calls, whatever the synchronization.
//   allreduce (exchange_allreduce.cpp): every rank's gradients averaged, per tensor or in buckets
//     that start while backward still runs, through the codec with error feedback; then the
//     optimizer (with clipping) on every rank. One process without a codec is its trivial case.
//   parameter server (exchange_ps.cpp): the flattened gradients reduce-scattered to shards
//     colocated with the workers, the optimizer run on each rank's shard, the weights gathered.
// Each keeps what a checkpoint must hold of it and takes it back on resume.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tandem/collectives/auto_codec.h"
#include "tandem/nn/checkpoint.h"
#include "tandem/nn/network.h"
#include "tandem/nn/optimizer.h"
#include "tandem/nn/trainer.h"

namespace tandem::nn {

/// What the exchange moved and how long it took, since the last reset (the trainer resets it
/// each epoch).
struct ExchangeTraffic {
  double dense_bytes = 0;   ///< f32 gradient bytes exchanged
  double sent_bytes = 0;    ///< bytes this rank put on the wire
  double comm_seconds = 0;  ///< host time spent exchanging
};

class GradientExchange {
 public:
  virtual ~GradientExchange() = default;

  /// Before the first step of run(): `grads` are what steps will exchange (the parameters'
  /// gradients, or the sums a step of several pieces accumulates).
  virtual void start(const std::vector<const Tensor*>& grads) = 0;
  /// Whether ready() is to be called while the last piece's backward runs.
  virtual bool overlaps() const { return false; }
  /// The gradients [first, first + count) of this step are final (exchanges that overlap
  /// backward start sending them).
  virtual void ready(uint32_t step, size_t first, size_t count);
  /// Exchanges the step's gradients and updates the weights with the optimizer at rate lr.
  virtual void step(uint32_t step, const std::vector<Param*>& params, const std::vector<const Tensor*>& grads,
                    float lr) = 0;
  /// Pruning changed the weights and their masks.
  virtual void reload(const std::vector<Param*>& params);

  /// What a checkpoint holds of the exchange (collective: every rank calls it; rank 0 gets the
  /// tensors). A parameter server gathers its sharded optimizer state into the optimizer's.
  virtual std::vector<NamedTensor> save_state() = 0;
  /// Checks the state a checkpoint holds for it (origin names it in messages) before a resume
  /// takes anything: Error(invalid_argument) naming origin and the tensor. State that exists
  /// only once start() has run is checked then.
  virtual void check_state(const CheckpointData& data, const std::string& origin);
  /// Takes a checkpoint's state back (after check_state; deferred to start() where it waits on it).
  virtual void restore_state(CheckpointData data, const std::string& origin);

  /// Buckets per step and their size (0: per tensor, or no buckets).
  virtual size_t buckets() const { return 0; }
  virtual size_t bucket_bytes() const { return 0; }
  /// --compress auto's choice per bucket (empty until made, or without auto).
  virtual const std::vector<collectives::CodecChoice>& codec_choices() const;

  ExchangeTraffic traffic;
};

std::unique_ptr<GradientExchange> make_allreduce_exchange(const TrainConfig& config, Network& net,
                                                          Optimizer& optimizer);
std::unique_ptr<GradientExchange> make_parameter_server_exchange(const TrainConfig& config, Network& net,
                                                                 Optimizer& optimizer);
/// The exchange a configuration asks for (TrainConfig::sync, comm, compress, error_feedback,
/// bucket_bytes, overlap, auto_budget; the optimizer's clipping and weight decay). `config`,
/// `net` and `optimizer` must outlive it.
inline std::unique_ptr<GradientExchange> make_exchange(const TrainConfig& config, Network& net, Optimizer& optimizer) {
  return config.sync == TrainConfig::Sync::ps ? make_parameter_server_exchange(config, net, optimizer)
                                              : make_allreduce_exchange(config, net, optimizer);
}

}  // namespace tandem::nn
