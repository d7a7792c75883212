// The multi-rank parts of training: gradient synchronization per tensor, the parameter
// server's shards, `--compress auto`'s choice, and the synchronization state in checkpoints.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <string>
#include <utility>

#include "tandem/log.h"
#include "tandem/nn/trainer.h"

namespace tandem::nn {

// The data-parallel exchange: each gradient averaged over ranks through the codec. Keys:
// (seed, step, this rank, the tensor's offset in the flattened gradient).
void Trainer::sync_gradients(const std::vector<const Tensor*>& grads, uint32_t step) {
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t before = sync_->bytes_sent();
  uint64_t offset = 0;
  for (size_t i = 0; i < grads.size(); ++i) {
    const Tensor& g = *grads[i];
    try {
      sync_->sync(net_->stream(g.device()), g, i, {config_.seed, step, 0, offset});
    } catch (const Error& e) {
      throw Error(e.kind(), e.device(), e.op(),
                  e.detail() + " (gradient " + std::to_string(i) + " at step " + std::to_string(step) + ")");
    }
    offset += static_cast<uint64_t>(g.numel());
    dense_bytes_ += static_cast<double>(g.nbytes());
  }
  sent_bytes_ += static_cast<double>(sync_->bytes_sent() - before);
  comm_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Parameter server, shards colocated with the workers: push (reduce-scatter of the flattened
// gradients, f32 or half precision: each shard arrives summed at its owner), clip (the global
// norm from every shard's, allreduced), update (the optimizer on each parameter's piece of the
// shard, with its weight decay, mask and the shard's optimizer state, exactly as
// Optimizer::step does per parameter), pull (allgather of the shards).
void Trainer::ps_step(const std::vector<Param*>& params, const std::vector<const Tensor*>& grads, float lr) {
  collectives::Communicator& comm = *config_.comm;
  Stream& s = net_->stream(params.front()->value.device());
  if (!ps_) ps_load(params);
  PsShard& ps = *ps_;
  for (size_t i = 0; i < grads.size(); ++i)
    ops::cast(s, grads[i]->reshape({grads[i]->numel()}), ps_view(ps.flat, ps.offsets[i], grads[i]->numel()));
  if (ps.half) {  // push in half precision: each reduction step in f32, rounded once
    ops::cast(s, ps.flat, ps.half);
    comm.reduce_scatter(s, ps.half, ps.half_shard);
    ops::cast(s, ps.half_shard, ps.grad);
  } else {
    comm.reduce_scatter(s, ps.flat, ps.grad);
  }
  ops::scale(s, 1.0f / static_cast<float>(ranks()), ps.grad);
  if (config_.sgd.clip_norm > 0) {
    // ‖g‖² of this shard (masked, as the update will see it; padding is zero), summed over the
    // shards: every rank scales its shard by the same factor.
    ops::mul(s, ps.grad, ps.mask, ps.grad);
    constexpr int64_t chunk = int64_t{1} << 16;
    Tensor partial = Tensor::empty(ps.grad.device(), {(ps.shard + chunk - 1) / chunk});
    ops::chunk_norm2(s, ps.grad, partial, {chunk});
    double sq = 0;
    for (float r : partial.to_f32()) sq += static_cast<double>(r) * static_cast<double>(r);
    Tensor total = Tensor::from_vector(cpu_device(), {1}, std::vector<float>{static_cast<float>(sq)});
    Stream host(cpu_device());
    comm.allreduce(host, total, total);
    const double norm = std::sqrt(static_cast<double>(total.to_f32()[0]));
    if (norm > static_cast<double>(config_.sgd.clip_norm))
      ops::scale(s, static_cast<float>(static_cast<double>(config_.sgd.clip_norm) / norm), ps.grad);
  }
  optimizer_->advance();
  std::vector<Tensor> state(ps.state.size());
  for (const PsShard::Segment& seg : ps.segments) {
    const Param& p = *params[seg.param];
    const int64_t n = seg.end - seg.begin;
    for (size_t k = 0; k < state.size(); ++k) state[k] = ps_view(ps.state[k], seg.begin, n);
    optimizer_->update(s, ps_view(ps.weights, seg.begin, n), ps_view(ps.grad, seg.begin, n), state,
                       p.mask ? ps_view(ps.mask, seg.begin, n) : Tensor(), p.prunable ? config_.sgd.weight_decay : 0.0f,
                       lr);
  }
  comm.allgather(s, ps.weights, ps.flat);  // pull
  for (size_t i = 0; i < params.size(); ++i)
    ops::cast(s, ps_view(ps.flat, ps.offsets[i], params[i]->value.numel()),
              params[i]->value.reshape({params[i]->value.numel()}));
  dense_bytes_ += static_cast<double>(ps.flat.nbytes());
  sent_bytes_ += static_cast<double>((ps.half ? ps.half.nbytes() : ps.flat.nbytes()) + ps.weights.nbytes());
}

Tensor Trainer::ps_view(const Tensor& flat, int64_t at, int64_t n) {
  return Tensor(flat.buffer(), {n}, DType::f32, flat.offset() + static_cast<size_t>(at) * 4);
}

// This rank's shard of the flattened weights and masks, from the parameters, and at first of
// the optimizer's state, from the optimizer's (zero on a fresh start, the checkpoint's on a
// resume). Called again after pruning changes weights and masks.
void Trainer::ps_load(const std::vector<Param*>& params) {
  const Device d = params.front()->value.device();
  Stream& s = net_->stream(d);
  if (!ps_) {
    ps_ = std::make_unique<PsShard>();
    int64_t n = 0;
    for (Param* p : params) ps_->offsets.push_back(std::exchange(n, n + p->value.numel()));
    ps_->padded = (n + ranks() - 1) / ranks() * ranks();
    ps_->shard = ps_->padded / ranks();
    ps_->flat = Tensor::zeros(d, {ps_->padded});
    ps_->grad = Tensor::empty(d, {ps_->shard});
    if (config_.compress.codec == compression::Codec::fp16 || config_.compress.codec == compression::Codec::bf16) {
      const DType h = config_.compress.codec == compression::Codec::fp16 ? DType::f16 : DType::bf16;
      ps_->half = Tensor::empty(d, {ps_->padded}, h);
      ps_->half_shard = Tensor::empty(d, {ps_->shard}, h);
    }
    const int64_t mine = rank() * ps_->shard;
    for (size_t i = 0; i < params.size(); ++i) {  // each parameter's piece of [mine, mine + shard)
      const int64_t begin = std::max(ps_->offsets[i], mine);
      const int64_t end = std::min(ps_->offsets[i] + params[i]->value.numel(), mine + ps_->shard);
      if (begin < end) ps_->segments.push_back({i, begin - mine, end - mine});
    }
  }
  PsShard& ps = *ps_;
  const int64_t mine = rank() * ps.shard;
  const auto shard_of = [&](const std::function<void(size_t, const Tensor&)>& fill) {
    Tensor full = Tensor::zeros(d, {ps.padded});
    for (size_t i = 0; i < params.size(); ++i) fill(i, ps_view(full, ps.offsets[i], params[i]->value.numel()));
    Tensor out = Tensor::empty(d, {ps.shard});
    ops::cast(s, ps_view(full, mine, ps.shard), out);
    return out;
  };
  ps.weights = shard_of([&](size_t i, const Tensor& v) { ops::cast(s, params[i]->value.reshape({v.numel()}), v); });
  if (ps.state.empty()) {  // the shard's own from then on
    const std::vector<std::vector<Tensor>>& opt = optimizer_->state(params);
    for (size_t k = 0; k < optimizer_->state_names().size(); ++k)
      ps.state.push_back(shard_of([&](size_t i, const Tensor& v) { ops::cast(s, opt[i][k].reshape({v.numel()}), v); }));
  }
  ps.mask = shard_of([&](size_t i, const Tensor& v) {
    if (params[i]->mask)
      ops::cast(s, params[i]->mask.reshape({v.numel()}), v);
    else
      ops::fill(s, v, 1.0f);
  });
}

// The sharded optimizer state gathered into the optimizer's (what checkpoints save). Collective.
void Trainer::ps_gather_state() {
  if (!ps_) return;
  std::vector<Param*> params = net_->params();
  Stream& s = net_->stream(params.front()->value.device());
  std::vector<std::vector<Tensor>>& opt = optimizer_->state(params);
  for (size_t k = 0; k < ps_->state.size(); ++k) {
    Tensor all = Tensor::empty(ps_->state[k].device(), {ps_->padded});
    config_.comm->allgather(s, ps_->state[k], all);
    for (size_t i = 0; i < params.size(); ++i)
      ops::cast(s, ps_view(all, ps_->offsets[i], opt[i][k].numel()), opt[i][k].reshape({opt[i][k].numel()}));
  }
}

// Every rank's compute seconds per sample since the last call, gathered (the same numbers on
// every rank, so every rank makes the same decision), then a new split if it pays. Collective.
void Trainer::rebalance() {
  Stream s(cpu_device());
  std::vector<float> mine(static_cast<size_t>(ranks()), 0.0f);
  double per_sample_here = compute_seconds_ / static_cast<double>(std::max<int64_t>(1, compute_samples_));
  if (config_.balance_timing) per_sample_here = config_.balance_timing(per_sample_here);
  mine[static_cast<size_t>(rank())] = static_cast<float>(per_sample_here);
  Tensor all = Tensor::from_vector(cpu_device(), {ranks()}, mine);
  config_.comm->allreduce(s, all, all);
  compute_seconds_ = 0;
  compute_samples_ = 0;
  const std::vector<float> f = all.to_f32();
  std::vector<double> per_sample(f.begin(), f.end());
  for (double& t : per_sample) t = std::max(t, 1e-9);
  if (balancer_->update(per_sample)) {
    std::string split;
    for (int64_t n : balancer_->shares()) split += (split.empty() ? "" : " ") + std::to_string(n);
    TANDEM_LOG(info, "balance: samples per rank " << split);
  }
}

// --compress auto: the first step ran dense; its (averaged) bucket gradients are what the
// candidates are judged on.
void Trainer::choose_codecs() {
  std::vector<Tensor> flats;
  for (size_t b = 0; b < buckets_->buckets(); ++b) flats.push_back(buckets_->flat(b));
  const collectives::LinkModel link = collectives::measure_link(*config_.comm);
  choices_ = collectives::choose_codecs(*config_.comm, link, flats, config_.auto_budget);
  for (size_t b = 0; b < choices_.size(); ++b) {
    buckets_->set_codec(b, choices_[b].spec, config_.error_feedback);
    TANDEM_LOG(info, "compress auto: bucket " << b << " (" << flats[b].nbytes() << " bytes) -> "
                                              << compression::codec_string(choices_[b].spec));
  }
}

// Where synchronization state k lives: bucket k's sync, or tensor k of the shared one.
std::pair<collectives::GradientSync&, size_t> Trainer::sync_state(size_t k) {
  if (buckets_) return {buckets_->sync(k), 0};
  return {*sync_, k};
}

// The synchronization state (of every run with a GradientSync): every rank's error-feedback residual (one per
// bucket, or per tensor without buckets), gathered to rank 0 as "residual:r<rank>:<k>", and
// PowerSGD's Q, the same on every rank after its allreduce, as "codec_state:<k>". Collective.
std::vector<NamedTensor> Trainer::gather_sync_state() {
  std::vector<NamedTensor> out;
  if (!sync_) return out;
  const size_t states = buckets_ ? buckets_->buckets() : net_->params().size();
  for (size_t k = 0; k < states; ++k) {
    auto [sync, index] = sync_state(k);
    if (compression::ErrorFeedback* ef = sync.feedback(index); ef && ef->residual()) {
      const Tensor& r = ef->residual();
      const int64_t n = r.numel();
      Tensor all = Tensor::empty(cpu_device(), {n * ranks()});
      sync.comm().allgather(net_->stream(r.device()), r.reshape({n}), all);
      for (int q = 0; q < ranks() && rank() == 0; ++q)
        out.push_back(NamedTensor::of("residual:r" + std::to_string(q) + ":" + std::to_string(k),
                                      Tensor(all.buffer(), r.shape(), DType::f32, static_cast<size_t>(q * n) * 4)));
    }
    if (config_.compress.codec == compression::Codec::powersgd && sync.codec(index).state())
      out.push_back(NamedTensor::of("codec_state:" + std::to_string(k), sync.codec(index).state()));
  }
  return out;
}

// A saved residual or PowerSGD Q must have the shape and dtype this run keeps for its state k: a
// residual of another shape would meet a gradient it does not match mid-run, and a Q of another
// rank would be silently dropped (the run would not continue the same trajectory).
void Trainer::check_sync_state(const CheckpointData& data, const std::string& origin) {
  if (!sync_) return;
  const std::vector<Param*> params = net_->params();
  const size_t states = buckets_ ? buckets_->buckets() : params.size();
  for (size_t k = 0; k < states; ++k) {
    auto [sync, index] = sync_state(k);
    const Shape shape = buckets_ ? buckets_->flat(k).shape() : params[k]->value.shape();
    const auto expect = [&](const std::string& name, const Shape& want) {
      const NamedTensor* t = data.find(name);
      if (t != nullptr && (t->dtype != DType::f32 || !(t->shape == want)))
        throw Error(ErrorKind::invalid_argument, "", "train",
                    "checkpoint " + origin + ": tensor " + name + " is " + std::string(dtype_name(t->dtype)) +
                        t->shape.str() + ", this run keeps f32" + want.str());
    };
    if (sync.feedback(index) != nullptr) expect("residual:r" + std::to_string(rank()) + ":" + std::to_string(k), shape);
    if (config_.compress.codec == compression::Codec::powersgd) {
      const compression::LowRankShape m = sync.codec(index).lowrank_shape(shape);
      expect("codec_state:" + std::to_string(k), Shape{m.cols, m.rank});
    }
  }
}

void Trainer::restore_sync_state(const CheckpointData& data) {
  if (!sync_) return;
  check_sync_state(data, pending_origin_);
  const size_t states = buckets_ ? buckets_->buckets() : net_->params().size();
  for (size_t k = 0; k < states; ++k) {
    const std::string key = std::to_string(k);
    auto [sync, index] = sync_state(k);
    if (const NamedTensor* r = data.find("residual:r" + std::to_string(rank()) + ":" + key);
        r && sync.feedback(index)) {
      const Tensor t = Tensor::from_host(cpu_device(), r->shape, r->dtype, r->bytes.data());
      sync.feedback(index)->restore(net_->stream(cpu_device()), t);
    }
    if (const NamedTensor* q = data.find("codec_state:" + key);
        q && config_.compress.codec == compression::Codec::powersgd) {
      const Tensor t = Tensor::from_host(cpu_device(), q->shape, q->dtype, q->bytes.data());
      sync.codec(index).restore_state(net_->stream(cpu_device()), t);
    }
  }
}

}  // namespace tandem::nn
