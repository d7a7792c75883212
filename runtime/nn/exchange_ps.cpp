// The parameter-server exchange, shards colocated with the workers: push (reduce-scatter of the
// flattened gradients, f32 or half precision: each shard arrives summed at its owner), clip (the
// global norm from every shard's, allreduced), update (the trainer's optimizer on each
// parameter's piece of the shard, with its weight decay, mask and the shard's optimizer state,
// exactly as Optimizer::step does per parameter), pull (allgather of the shards).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <utility>

#include "exchange.h"

namespace tandem::nn {
namespace {

Tensor view(const Tensor& flat, int64_t at, int64_t n) {
  return Tensor(flat.buffer(), {n}, DType::f32, flat.offset() + static_cast<size_t>(at) * 4);
}

class ParameterServerExchange final : public GradientExchange {
 public:
  ParameterServerExchange(const TrainConfig& config, Network& net, Optimizer& optimizer)
      : config_(config), comm_(*config.comm), net_(net), optimizer_(optimizer) {}

  void start(const std::vector<const Tensor*>&) override {}
  void step(uint32_t step, const std::vector<Param*>& params, const std::vector<const Tensor*>& grads,
            float lr) override;
  // The shard takes the pruned weights and their masks.
  void reload(const std::vector<Param*>& params) override {
    if (shard_) load(params);
  }
  // The sharded optimizer state gathered into the optimizer's (what the checkpoint saves). A
  // resumed run loads its shard from the optimizer's state at its first step.
  std::vector<NamedTensor> save_state() override;

 private:
  // This rank's shard of the flattened parameters.
  struct Shard {
    std::vector<int64_t> offsets;  // each parameter's start in the flat vector
    int64_t padded = 0, size = 0;
    Tensor flat, weights, mask, grad;
    std::vector<Tensor> state;  // the optimizer's state tensors, sharded (one per state name)
    // The shard's pieces of each parameter: [begin, end) within the shard, updated with the
    // parameter's weight decay and (masked parameters) its mask.
    struct Segment {
      size_t param;
      int64_t begin, end;
    };
    std::vector<Segment> segments;
    Tensor half, half_shard;  // the push in fp16/bf16
  };
  void load(const std::vector<Param*>& params);
  int rank() const { return comm_.rank(); }
  int ranks() const { return comm_.size(); }

  const TrainConfig& config_;
  collectives::Communicator& comm_;
  Network& net_;
  Optimizer& optimizer_;
  std::unique_ptr<Shard> shard_;
};

void ParameterServerExchange::step(uint32_t, const std::vector<Param*>& params, const std::vector<const Tensor*>& grads,
                                   float lr) {
  const auto t0 = std::chrono::steady_clock::now();
  Stream& s = net_.stream(params.front()->value.device());
  if (!shard_) load(params);
  Shard& ps = *shard_;
  for (size_t i = 0; i < grads.size(); ++i)
    ops::cast(s, grads[i]->reshape({grads[i]->numel()}), view(ps.flat, ps.offsets[i], grads[i]->numel()));
  if (ps.half) {  // push in half precision: each reduction step in f32, rounded once
    ops::cast(s, ps.flat, ps.half);
    comm_.reduce_scatter(s, ps.half, ps.half_shard);
    ops::cast(s, ps.half_shard, ps.grad);
  } else {
    comm_.reduce_scatter(s, ps.flat, ps.grad);
  }
  ops::scale(s, 1.0f / static_cast<float>(ranks()), ps.grad);
  if (config_.sgd.clip_norm > 0) {
    // ‖g‖² of this shard (masked, as the update will see it; padding is zero), summed over the
    // shards: every rank scales its shard by the same factor.
    ops::mul(s, ps.grad, ps.mask, ps.grad);
    constexpr int64_t chunk = int64_t{1} << 16;
    Tensor partial = Tensor::empty(ps.grad.device(), {(ps.size + chunk - 1) / chunk});
    ops::chunk_norm2(s, ps.grad, partial, {chunk});
    double sq = 0;
    for (float r : partial.to_f32()) sq += static_cast<double>(r) * static_cast<double>(r);
    Tensor total = Tensor::from_vector(cpu_device(), {1}, std::vector<float>{static_cast<float>(sq)});
    Stream host(cpu_device());
    comm_.allreduce(host, total, total);
    const double norm = std::sqrt(static_cast<double>(total.to_f32()[0]));
    if (norm > static_cast<double>(config_.sgd.clip_norm))
      ops::scale(s, static_cast<float>(static_cast<double>(config_.sgd.clip_norm) / norm), ps.grad);
  }
  optimizer_.advance();
  std::vector<Tensor> state(ps.state.size());
  for (const Shard::Segment& seg : ps.segments) {
    const Param& p = *params[seg.param];
    const int64_t n = seg.end - seg.begin;
    for (size_t k = 0; k < state.size(); ++k) state[k] = view(ps.state[k], seg.begin, n);
    optimizer_.update(s, view(ps.weights, seg.begin, n), view(ps.grad, seg.begin, n), state,
                      p.mask ? view(ps.mask, seg.begin, n) : Tensor(), p.prunable ? config_.sgd.weight_decay : 0.0f,
                      lr);
  }
  comm_.allgather(s, ps.weights, ps.flat);  // pull
  for (size_t i = 0; i < params.size(); ++i)
    ops::cast(s, view(ps.flat, ps.offsets[i], params[i]->value.numel()),
              params[i]->value.reshape({params[i]->value.numel()}));
  traffic.dense_bytes += static_cast<double>(ps.flat.nbytes());
  traffic.sent_bytes += static_cast<double>((ps.half ? ps.half.nbytes() : ps.flat.nbytes()) + ps.weights.nbytes());
  traffic.comm_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// This rank's shard of the flattened weights and masks, from the parameters, and at first of
// the optimizer's state, from the optimizer's (zero on a fresh start, the checkpoint's on a
// resume). Called again after pruning changes weights and masks.
void ParameterServerExchange::load(const std::vector<Param*>& params) {
  const Device d = params.front()->value.device();
  Stream& s = net_.stream(d);
  if (!shard_) {
    shard_ = std::make_unique<Shard>();
    Shard& ps = *shard_;
    int64_t n = 0;
    for (Param* p : params) ps.offsets.push_back(std::exchange(n, n + p->value.numel()));
    ps.padded = (n + ranks() - 1) / ranks() * ranks();
    ps.size = ps.padded / ranks();
    ps.flat = Tensor::zeros(d, {ps.padded});
    ps.grad = Tensor::empty(d, {ps.size});
    if (config_.compress.codec == compression::Codec::fp16 || config_.compress.codec == compression::Codec::bf16) {
      const DType h = config_.compress.codec == compression::Codec::fp16 ? DType::f16 : DType::bf16;
      ps.half = Tensor::empty(d, {ps.padded}, h);
      ps.half_shard = Tensor::empty(d, {ps.size}, h);
    }
    const int64_t mine = rank() * ps.size;
    for (size_t i = 0; i < params.size(); ++i) {  // each parameter's piece of [mine, mine + size)
      const int64_t begin = std::max(ps.offsets[i], mine);
      const int64_t end = std::min(ps.offsets[i] + params[i]->value.numel(), mine + ps.size);
      if (begin < end) ps.segments.push_back({i, begin - mine, end - mine});
    }
  }
  Shard& ps = *shard_;
  const int64_t mine = rank() * ps.size;
  const auto shard_of = [&](const std::function<void(size_t, const Tensor&)>& fill) {
    Tensor full = Tensor::zeros(d, {ps.padded});
    for (size_t i = 0; i < params.size(); ++i) fill(i, view(full, ps.offsets[i], params[i]->value.numel()));
    Tensor out = Tensor::empty(d, {ps.size});
    ops::cast(s, view(full, mine, ps.size), out);
    return out;
  };
  ps.weights = shard_of([&](size_t i, const Tensor& v) { ops::cast(s, params[i]->value.reshape({v.numel()}), v); });
  if (ps.state.empty()) {  // the shard's own from then on
    const std::vector<std::vector<Tensor>>& opt = optimizer_.state(params);
    for (size_t k = 0; k < optimizer_.state_names().size(); ++k)
      ps.state.push_back(shard_of([&](size_t i, const Tensor& v) { ops::cast(s, opt[i][k].reshape({v.numel()}), v); }));
  }
  ps.mask = shard_of([&](size_t i, const Tensor& v) {
    if (params[i]->mask)
      ops::cast(s, params[i]->mask.reshape({v.numel()}), v);
    else
      ops::fill(s, v, 1.0f);
  });
}

std::vector<NamedTensor> ParameterServerExchange::save_state() {
  if (!shard_) return {};
  std::vector<Param*> params = net_.params();
  Stream& s = net_.stream(params.front()->value.device());
  std::vector<std::vector<Tensor>>& opt = optimizer_.state(params);
  for (size_t k = 0; k < shard_->state.size(); ++k) {
    Tensor all = Tensor::empty(shard_->state[k].device(), {shard_->padded});
    comm_.allgather(s, shard_->state[k], all);
    for (size_t i = 0; i < params.size(); ++i)
      ops::cast(s, view(all, shard_->offsets[i], opt[i][k].numel()), opt[i][k].reshape({opt[i][k].numel()}));
  }
  return {};
}

}  // namespace

std::unique_ptr<GradientExchange> make_parameter_server_exchange(const TrainConfig& config, Network& net,
                                                                 Optimizer& optimizer) {
  return std::make_unique<ParameterServerExchange>(config, net, optimizer);
}

}  // namespace tandem::nn
