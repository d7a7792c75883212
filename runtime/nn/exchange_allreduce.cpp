// The allreduce exchange: each gradient averaged over the ranks through the codec (with error
// feedback), per tensor or in buckets that start while backward runs (--compress auto choosing a
// codec per bucket after the first step), then the optimizer on every rank. One process with a
// codec sends its gradients through it to itself, by the same path; without a codec, nothing
// is exchanged and the optimizer alone runs.
#include <chrono>
#include <utility>

#include "exchange.h"
#include "tandem/error.h"
#include "tandem/log.h"

namespace tandem::nn {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

class AllreduceExchange final : public GradientExchange {
 public:
  AllreduceExchange(const TrainConfig& config, Network& net, Optimizer& optimizer)
      : config_(config), net_(net), optimizer_(optimizer) {
    if (config.comm || config.compress.codec != compression::Codec::none)
      sync_ = std::make_unique<collectives::GradientSync>(config.comm ? config.comm : collectives::self_communicator(),
                                                          config.compress, config.error_feedback);
  }

  void start(const std::vector<const Tensor*>& grads) override {
    if (bucketed() && !buckets_) {
      const size_t bytes =
          config_.bucket_bytes > 0 ? config_.bucket_bytes : collectives::auto_bucket_bytes(*config_.comm);
      // The last piece of a step hands each layer's gradients to the buckets as backward finishes them.
      buckets_ = std::make_unique<collectives::GradientBuckets>(*sync_, grads, bytes, config_.seed, config_.overlap);
    }
    if (pending_) {
      take(*pending_, pending_origin_);
      pending_.reset();
    }
  }

  bool overlaps() const override { return buckets_ && config_.overlap; }

  void ready(uint32_t step, size_t first, size_t count) override {
    const auto t = Clock::now();
    buckets_->ready(grad_stream(), step, first, count);
    traffic.comm_seconds += since(t);
  }

  void step(uint32_t step, const std::vector<Param*>& params, const std::vector<const Tensor*>& grads,
            float lr) override {
    if (buckets_) {
      const auto t = Clock::now();
      const uint64_t before = sent_;  // what overlapped sends during backward put out is counted too
      if (!overlaps()) buckets_->ready(grad_stream(), step, 0, grads.size());
      buckets_->finish(grad_stream(), step);
      for (const Tensor* g : grads) traffic.dense_bytes += static_cast<double>(g->nbytes());
      sent_ = buckets_->bytes_sent();
      traffic.sent_bytes += static_cast<double>(sent_ - before);
      if (config_.auto_budget > 0 && choices_.empty()) choose_codecs();
      traffic.comm_seconds += since(t);
    } else if (sync_) {
      sync_per_tensor(grads, step);
    }
    if (config_.sgd.clip_norm > 0) clip_grad_norm(net_, params, grads, config_.sgd.clip_norm);
    optimizer_.step(net_, params, grads, lr);
  }

  std::vector<NamedTensor> save_state() override;
  void check_state(const CheckpointData& data, const std::string& origin) override {
    if (sync_ && (!bucketed() || buckets_)) check(data, origin);
  }
  void restore_state(CheckpointData data, const std::string& origin) override {
    // Buckets exist once run() starts (several ranks): their state is checked and taken then.
    if (bucketed() && !buckets_) {
      pending_ = std::make_unique<CheckpointData>(std::move(data));
      pending_origin_ = origin;
      return;
    }
    take(data, origin);
  }

  size_t buckets() const override { return buckets_ ? buckets_->buckets() : 0; }
  size_t bucket_bytes() const override { return buckets_ ? buckets_->bucket_bytes() : 0; }
  const std::vector<collectives::CodecChoice>& codec_choices() const override { return choices_; }

 private:
  // Several ranks with a codec other than PowerSGD (whose state is per tensor) exchange buckets.
  bool bucketed() const { return config_.comm && sync_ && config_.compress.codec != compression::Codec::powersgd; }
  Stream& grad_stream() { return net_.stream(net_.params().front()->value.device()); }
  int rank() const { return config_.comm ? config_.comm->rank() : 0; }
  int ranks() const { return config_.comm ? config_.comm->size() : 1; }
  void sync_per_tensor(const std::vector<const Tensor*>& grads, uint32_t step);
  void choose_codecs();
  // Where synchronization state k lives: bucket k's sync, or tensor k of the shared one.
  std::pair<collectives::GradientSync&, size_t> state(size_t k) {
    if (buckets_) return {buckets_->sync(k), 0};
    return {*sync_, k};
  }
  size_t states() const { return buckets_ ? buckets_->buckets() : net_.params().size(); }
  Shape state_shape(size_t k) { return buckets_ ? buckets_->flat(k).shape() : net_.params()[k]->value.shape(); }
  void check(const CheckpointData& data, const std::string& origin);
  void take(const CheckpointData& data, const std::string& origin);

  const TrainConfig& config_;
  Network& net_;
  Optimizer& optimizer_;
  std::unique_ptr<collectives::GradientSync> sync_;  // with a communicator or a codec
  std::unique_ptr<collectives::GradientBuckets> buckets_;
  uint64_t sent_ = 0;                              // the buckets' bytes_sent() after the last step
  std::vector<collectives::CodecChoice> choices_;  // --compress auto, once made
  std::unique_ptr<CheckpointData> pending_;        // a resumed multi-rank run's state, until start()
  std::string pending_origin_;
};

// Keys: (seed, step, this rank, the tensor's offset in the flattened gradient).
void AllreduceExchange::sync_per_tensor(const std::vector<const Tensor*>& grads, uint32_t step) {
  const auto t0 = Clock::now();
  const uint64_t before = sync_->bytes_sent();
  uint64_t offset = 0;
  for (size_t i = 0; i < grads.size(); ++i) {
    const Tensor& g = *grads[i];
    try {
      sync_->sync(net_.stream(g.device()), g, i, {config_.seed, step, 0, offset});
    } catch (const Error& e) {
      throw Error(e.kind(), e.device(), e.op(),
                  e.detail() + " (gradient " + std::to_string(i) + " at step " + std::to_string(step) + ")");
    }
    offset += static_cast<uint64_t>(g.numel());
    traffic.dense_bytes += static_cast<double>(g.nbytes());
  }
  traffic.sent_bytes += static_cast<double>(sync_->bytes_sent() - before);
  traffic.comm_seconds += since(t0);
}

// --compress auto: the first step ran dense; its (averaged) bucket gradients are what the
// candidates are judged on.
void AllreduceExchange::choose_codecs() {
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

// Every rank's error-feedback residual (one per bucket, or per tensor without buckets), gathered
// to rank 0 as "residual:r<rank>:<k>", and PowerSGD's Q, the same on every rank after its
// allreduce, as "codec_state:<k>".
std::vector<NamedTensor> AllreduceExchange::save_state() {
  std::vector<NamedTensor> out;
  if (!sync_) return out;
  for (size_t k = 0; k < states(); ++k) {
    auto [sync, index] = state(k);
    if (compression::ErrorFeedback* ef = sync.feedback(index); ef && ef->residual()) {
      const Tensor& r = ef->residual();
      const int64_t n = r.numel();
      Tensor all = Tensor::empty(cpu_device(), {n * ranks()});
      sync.comm().allgather(net_.stream(r.device()), r.reshape({n}), all);
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
void AllreduceExchange::check(const CheckpointData& data, const std::string& origin) {
  for (size_t k = 0; k < states(); ++k) {
    auto [sync, index] = state(k);
    const Shape shape = state_shape(k);
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

void AllreduceExchange::take(const CheckpointData& data, const std::string& origin) {
  if (!sync_) return;
  check(data, origin);
  for (size_t k = 0; k < states(); ++k) {
    const std::string key = std::to_string(k);
    auto [sync, index] = state(k);
    if (const NamedTensor* r = data.find("residual:r" + std::to_string(rank()) + ":" + key);
        r && sync.feedback(index)) {
      const Tensor t = Tensor::from_host(cpu_device(), r->shape, r->dtype, r->bytes.data());
      sync.feedback(index)->restore(net_.stream(cpu_device()), t);
    }
    if (const NamedTensor* q = data.find("codec_state:" + key);
        q && config_.compress.codec == compression::Codec::powersgd) {
      const Tensor t = Tensor::from_host(cpu_device(), q->shape, q->dtype, q->bytes.data());
      sync.codec(index).restore_state(net_.stream(cpu_device()), t);
    }
  }
}

}  // namespace

std::unique_ptr<GradientExchange> make_allreduce_exchange(const TrainConfig& config, Network& net,
                                                          Optimizer& optimizer) {
  return std::make_unique<AllreduceExchange>(config, net, optimizer);
}

void GradientExchange::ready(uint32_t, size_t, size_t) {}
void GradientExchange::reload(const std::vector<Param*>&) {}
void GradientExchange::check_state(const CheckpointData&, const std::string&) {}
void GradientExchange::restore_state(CheckpointData, const std::string&) {}
const std::vector<collectives::CodecChoice>& GradientExchange::codec_choices() const {
  static const std::vector<collectives::CodecChoice> none;
  return none;
}

}  // namespace tandem::nn
