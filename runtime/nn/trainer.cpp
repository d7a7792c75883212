#include "tandem/nn/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "batches.h"
#include "exchange.h"
#include "tandem/error.h"
#include "tandem/file.h"
#include "tandem/log.h"
#include "trainer_state.h"

namespace tandem::nn {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

Trainer::Trainer(TrainConfig config, const Dataset& train, const Dataset& test)
    : config_(std::move(config)),
      train_(train),
      test_(test),
      optimizer_(make_optimizer(config_.sgd)),
      state_(std::make_unique<State>()) {
  if (config_.epochs < 1) bad_config("epochs must be ≥ 1");
  if (config_.batch < 1) bad_config("batch must be ≥ 1");
  if (config_.accumulate < 1) bad_config("accumulate must be ≥ 1");
  if (config_.eval_batch < 1) bad_config("eval batch must be ≥ 1");
  if (config_.prune.method == PruneMethod::two_four) config_.prune.steps = 1;
  if (config_.prune.method != PruneMethod::none && config_.prune.start_epoch + config_.prune.steps > config_.epochs)
    bad_config("pruning at epochs " + std::to_string(config_.prune.start_epoch) + ".." +
               std::to_string(config_.prune.start_epoch + config_.prune.steps - 1) + " does not fit in " +
               std::to_string(config_.epochs) + " epochs");
  const ModelSpec spec = load_model(config_.model);
  if (spec.token_input() != train.is_tokens() || test.is_tokens() != train.is_tokens())
    bad_config("model " + spec.name + (spec.token_input() ? " reads token ids" : " reads images") + "; the data " +
               (train.is_tokens() ? "is token sequences" : "is images"));
  if (train.is_tokens()) {
    if (spec.input[0] != train.rows || test.rows != train.rows)
      bad_config("model " + spec.name + " takes sequences of " + std::to_string(spec.input[0]) + " tokens; the data has " +
                 std::to_string(train.rows));
    if (spec.vocab < train.classes)
      bad_config("model " + spec.name + "'s vocabulary (" + std::to_string(spec.vocab) + ") is smaller than the data's (" +
                 std::to_string(train.classes) + ")");
    if (!spec.per_token_output()) bad_config("model " + spec.name + " does not score every token (the masked-token loss needs [tokens, vocab])");
  } else if (spec.input.numel() != train.rows * train.cols || spec.input[0] != 1) {
    bad_config("model " + spec.name + " takes " + spec.input.str() + " inputs; the data has " +
               std::to_string(train.rows) + "x" + std::to_string(train.cols) + " images");
  }
  if (spec.classes < train.classes) bad_config("model " + spec.name + " has fewer classes than the data");
  const int64_t per_step = config_.batch * config_.accumulate * ranks();
  if (train.count < per_step)
    bad_config(std::to_string(train.count) + " training samples are fewer than one step (batch " +
               std::to_string(config_.batch) + " × accumulate " + std::to_string(config_.accumulate) + " × " +
               std::to_string(ranks()) + " ranks)");
  if (test.count < 1) bad_config("the test set is empty");
  if (config_.placement.empty()) config_.placement = {cpu_device()};
  // A device held below its hardware's speed (the CPU: OpenBLAS on older kernels) makes every
  // time of the run slower than the machine allows: said once, by the first rank.
  if (rank() == 0)
    for (const Device& d : config_.placement)
      if (!d.props().slowdown.empty())
        log_once(LogLevel::warn, "slowdown " + d.id(), d.id() + ": " + d.props().slowdown);
  net_ = std::make_unique<Network>(spec, config_.placement);
  net_->set_fusion(true);
  net_->init(config_.seed);

  batches_ = std::make_unique<Batches>(train);  // inputs normalized by the training set's statistics

  if (config_.chunk < 1) bad_config("chunk must be ≥ 1");
  // A step's samples run as pieces of at most min(batch, chunk) samples; with more than one
  // piece, the gradients are summed on the device, each weighted by its share of the step.
  piece_ = std::min(config_.batch, config_.chunk);
  // Each step's ranks × batch × accumulate samples, split over the ranks (equal shares unless
  // given or balanced); a rank whose share exceeds one piece sums its pieces' gradients.
  balancer_ = std::make_unique<LoadBalancer>(ranks(), per_step);
  if (!config_.rank_shares.empty()) balancer_->set_shares(config_.rank_shares);
  if (config_.balance && !config_.comm) bad_config("--balance splits steps over ranks (run under mpirun)");
  if (config_.balance_every < 1) bad_config("balance_every must be ≥ 1");
  const int64_t largest = config_.balance ? per_step - ranks() + 1
                                          : *std::max_element(balancer_->shares().begin(), balancer_->shares().end());
  if (piece_ < largest)
    for (Param* p : net_->params()) accum_.push_back(Tensor::zeros(p->value.device(), p->value.shape()));
  if (config_.sync == TrainConfig::Sync::ps) {
    const compression::Codec c = config_.compress.codec;
    if (!config_.comm) bad_config("--sync ps needs several ranks (run under mpirun)");
    if ((c != compression::Codec::none && c != compression::Codec::fp16 && c != compression::Codec::bf16) ||
        config_.auto_budget > 0 || config_.error_feedback)
      bad_config(
          "--sync ps pushes gradients by reduce-scatter: f32, or --compress fp16/bf16 without error feedback "
          "(sparse and quantized codecs aggregate by allgather: use --sync allreduce)");
  }
  if (config_.auto_budget > 0 && (!config_.comm || config_.compress.codec != compression::Codec::none))
    bad_config("--compress auto chooses codecs per bucket of a multi-rank run (under mpirun)");
  if (config_.error_feedback && config_.compress.codec == compression::Codec::none)
    bad_config("error feedback needs a codec (--compress)");
  if (config_.comm) {
    // Every rank starts from rank 0's weights (the seeded init already agrees; this makes sure).
    for (Param* p : net_->params()) config_.comm->broadcast(net_->stream(p->value.device()), p->value, 0);
  }
  exchange_ = make_exchange(config_, *net_, *optimizer_);
  // EF assumes a contractive codec (‖C(x) − x‖ < ‖x‖); unbiased stochastic codecs may send
  // more error than signal, and the residual then grows without bound.
  const compression::Codec c = config_.compress.codec;
  if (config_.error_feedback &&
      (c == compression::Codec::qsgd || c == compression::Codec::terngrad || c == compression::Codec::randomk))
    TANDEM_LOG(warn, "error feedback with " << compression::codec_string(config_.compress)
                                            << ": an unbiased stochastic codec can send more error than signal, and "
                                               "the residual may then grow until training diverges");
  if (rank() == 0 && !config_.checkpoint_dir.empty()) {
    // One run per checkpoint directory: two would interleave their checkpoints.
    checkpoint_lock_ = DirectoryLock(config_.checkpoint_dir, "train --checkpoint " + config_.checkpoint_dir);
    // A rank 0 killed while it wrote a checkpoint leaves its temporary file behind: this job now
    // holds the directory alone, so any such file is abandoned.
    int removed = 0;
    for (const std::string& p : {checkpoint_path(), previous_checkpoint_path()})
      removed += remove_abandoned_temporaries(p);
    if (removed > 0)
      TANDEM_LOG(info, "removed " << removed << " temporary file(s) an interrupted checkpoint write left in "
                                  << config_.checkpoint_dir);
    if (!config_.resume && !config_.overwrite_checkpoint && std::filesystem::exists(checkpoint_path()))
      bad_config("--checkpoint " + config_.checkpoint_dir +
                 " holds a checkpoint of an earlier run: --resume continues "
                 "it, --overwrite starts afresh and replaces it");
  }
  if (config_.resume) load_checkpoint();
}

Trainer::~Trainer() = default;

const std::vector<collectives::CodecChoice>& Trainer::codec_choices() const { return exchange_->codec_choices(); }

bool Trainer::finished() const { return state_->epoch >= config_.epochs; }

double Trainer::evaluate() {
  std::vector<uint32_t> idx(static_cast<size_t>(test_.count));
  std::iota(idx.begin(), idx.end(), 0u);
  int64_t correct = 0, scored = 0;
  std::vector<float> logits;
  for (int64_t first = 0; first < test_.count; first += config_.eval_batch) {
    const int64_t n = std::min(config_.eval_batch, test_.count - first);
    batches_->load(*net_, test_, idx.data() + first, n, eval_mask_key(config_.seed));
    const Tensor& out = net_->infer(batches_->input());
    logits = out.to_f32();
    const int64_t k = out.shape()[out.shape().rank() - 1], rows = out.shape().numel() / k;
    for (int64_t i = 0; i < rows; ++i) {  // per sample, or per token: the masked ones
      const int32_t label = test_.is_tokens() ? batches_->host_labels()[static_cast<size_t>(i)]
                                              : test_.labels[static_cast<size_t>(first + i)];
      if (label == ignore_label) continue;
      const float* row = logits.data() + i * k;
      correct += (std::max_element(row, row + k) - row) == label;
      ++scored;
    }
  }
  return scored == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(scored);
}

void Trainer::maybe_prune(int epoch) {
  const PruneConfig& pc = config_.prune;
  if (pc.method == PruneMethod::none || epoch < pc.start_epoch || epoch >= pc.start_epoch + pc.steps) return;
  const int k = epoch - pc.start_epoch + 1;
  if (state_->prune_steps_done >= k) return;  // done before a resume
  PruneEvent ev;
  ev.epoch = epoch;
  ev.target = pc.method == PruneMethod::two_four ? 0.5f : gradual_sparsity(pc.sparsity, k, pc.steps);
  ev.accuracy_before = evaluate();
  prune(*net_, pc.method, ev.target);
  ev.accuracy_after = evaluate();
  for (Param* p : net_->params())
    if (p->prunable) ev.layer_sparsity.emplace_back(p->name, sparsity(*p));
  TANDEM_LOG(info, "pruned (" << prune_name(pc) << ", step " << k << "/" << pc.steps << ") to " << ev.target
                              << ": accuracy " << ev.accuracy_before << " -> " << ev.accuracy_after);
  prune_events_.push_back(std::move(ev));
  state_->prune_steps_done = k;
  exchange_->reload(net_->params());
}

std::vector<EpochStats> Trainer::run(const std::function<void(const StepProgress&)>& on_step,
                                     const std::function<void(const EpochStats&)>& on_epoch) {
  std::vector<EpochStats> done;
  State& st = *state_;
  std::vector<Param*> params = net_->params();
  std::vector<const Tensor*> grads;
  for (size_t i = 0; i < params.size(); ++i) grads.push_back(accum_.empty() ? &params[i]->grad : &accum_[i]);
  // Each step takes per_step samples of the epoch's order; this rank takes its share.
  const int64_t per_step = config_.batch * config_.accumulate * ranks();
  const int64_t steps_per_epoch = train_.count / per_step;
  const int64_t total_steps = steps_per_epoch * config_.epochs;
  double run_seconds = 0;
  exchange_->start(grads);
  const bool overlap = exchange_->overlaps();
  ExchangeTraffic& traffic = exchange_->traffic;
  const auto accumulate = [&](size_t first, size_t count, float share, bool start) {
    for (size_t i = first; i < first + count && !accum_.empty(); ++i)
      compression::accumulate(net_->stream(accum_[i].device()), params[i]->grad, share, accum_[i], start);
  };

  // Modeled devices keep their own clocks. A step's time is then the host's wall time without
  // the time it spent simulating them, plus their modeled time.
  std::vector<Device> modeled;
  for (const Device& d : config_.placement)
    if (d.props().modeled && std::find(modeled.begin(), modeled.end(), d) == modeled.end()) modeled.push_back(d);
  const auto modeled_now = [&] {
    double t = 0;
    for (const Device& d : modeled) t += d.modeled_seconds() - d.simulation_seconds();
    return t;
  };
  double modeled_epoch = 0;
  while (st.epoch < config_.epochs) {
    if (st.step_in_epoch == 0) maybe_prune(st.epoch);
    const std::vector<uint32_t> order = epoch_order(train_.count, config_.seed, st.epoch);
    float lr = 0;
    while (st.step_in_epoch < steps_per_epoch) {
      if (config_.max_steps > 0 && st.step >= config_.max_steps) {
        if (!config_.checkpoint_dir.empty()) save_checkpoint();
        return done;
      }
      const auto t0 = Clock::now();
      const double m0 = modeled_now();
      lr = learning_rate(config_.sgd, st.step, total_steps, steps_per_epoch);
      // The mean loss (and gradient) over the step's samples is the share-weighted sum of the
      // pieces' means: accumulation over micro-batches and chunking of large batches alike.
      double loss = 0;
      // This rank's slice of the step; each piece weighs n × ranks / step samples (token data: its
      // masked tokens over the step's, loss_terms), so that the mean over ranks is the mean over
      // the step's samples (or masked tokens) whatever the split.
      const int64_t mine = balancer_->shares()[static_cast<size_t>(rank())];
      const uint32_t* step_samples = order.data() + st.step_in_epoch * per_step + balancer_->offset(rank());
      const uint64_t mask_key = train_mask_key(config_.seed, st.epoch);
      const int64_t step_terms = loss_terms(train_, order.data() + st.step_in_epoch * per_step, per_step, mask_key);
      const auto compute_start = Clock::now();
      const double comm_before = traffic.comm_seconds;
      for (int64_t first = 0; first < mine; first += piece_) {
        const int64_t n = std::min(piece_, mine - first);
        const int64_t terms = loss_terms(train_, step_samples + first, n, mask_key);  // n, or its masked tokens
        const float share = static_cast<float>(terms * ranks()) / static_cast<float>(step_terms);
        batches_->load(*net_, train_, step_samples + first, n, mask_key);
        net_->set_step(static_cast<uint32_t>(st.step), static_cast<uint64_t>(balancer_->offset(rank()) + first));
        net_->forward(batches_->input());
        if (overlap && first + n >= mine) {  // the last piece: each layer's sums go out as backward finishes them
          const auto on_ready = [&](size_t f, size_t count) {
            accumulate(f, count, share, first == 0);
            exchange_->ready(static_cast<uint32_t>(st.step), f, count);
          };
          loss += share * net_->backward(batches_->labels(), on_ready, accum_.empty() ? share : 1.0f);
        } else {
          loss += share * net_->backward(batches_->labels(), {}, accum_.empty() ? share : 1.0f);
          accumulate(0, params.size(), share, first == 0);
        }
      }
      compute_seconds_ += since(compute_start) - (traffic.comm_seconds - comm_before);
      compute_samples_ += mine;
      exchange_->step(static_cast<uint32_t>(st.step), params, grads, lr);
      if (config_.balance && (st.step + 1) % config_.balance_every == 0) rebalance();
      const float step_loss = static_cast<float>(loss);
      if (!std::isfinite(step_loss)) diverged(st.step, step_loss);
      step_losses_.push_back(step_loss);
      st.epoch_loss_sum += step_loss;
      ++st.step_in_epoch;
      ++st.step;
      const double dt = since(t0);
      modeled_epoch += dt + modeled_now() - m0;
      st.epoch_seconds += dt;
      run_seconds += dt;
      if (on_step) on_step({st.epoch, st.step_in_epoch, steps_per_epoch, step_loss});
      if (config_.checkpoint_every > 0 && st.step % config_.checkpoint_every == 0 && !config_.checkpoint_dir.empty())
        save_checkpoint();
    }
    EpochStats e;
    e.epoch = st.epoch;
    e.loss = st.epoch_loss_sum / static_cast<double>(steps_per_epoch);
    if (config_.comm) {  // the mean over ranks of their mean losses
      Stream s(cpu_device());
      Tensor l = Tensor::from_vector(cpu_device(), {1}, std::vector<float>{static_cast<float>(e.loss)});
      config_.comm->allreduce(s, l, l);
      e.loss = l.to_f32()[0] / static_cast<double>(ranks());
    }
    e.seconds = st.epoch_seconds;
    e.samples_per_s = static_cast<double>(steps_per_epoch * per_step) / std::max(1e-9, st.epoch_seconds);
    e.rank_shares = balancer_->shares();
    e.modeled = !modeled.empty();
    e.modeled_seconds = modeled_epoch;
    e.modeled_samples_per_s = modeled_epoch > 0 ? static_cast<double>(steps_per_epoch * per_step) / modeled_epoch : 0;
    modeled_epoch = 0;
    e.ranks = ranks();
    e.buckets = exchange_->buckets();
    e.bucket_bytes = exchange_->bucket_bytes();
    e.comm_seconds = traffic.comm_seconds;
    e.bytes_per_step = traffic.sent_bytes / static_cast<double>(steps_per_epoch);
    e.lr = lr;
    e.test_accuracy = evaluate();
    e.sparsity = overall_sparsity(params);
    e.elapsed = run_seconds;
    e.compression_ratio = traffic.sent_bytes > 0 ? traffic.dense_bytes / traffic.sent_bytes : 1.0;
    traffic = {};
    ++st.epoch;
    st.step_in_epoch = 0;
    st.epoch_loss_sum = 0;
    st.epoch_seconds = 0;
    done.push_back(e);
    if (on_epoch) on_epoch(e);
    if (!config_.checkpoint_dir.empty()) save_checkpoint();
  }
  return done;
}

namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

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

namespace {

// The first parameter (or its gradient, or velocity) holding a NaN or ±Inf: "fc1.weight's
// gradient (element 12: nan)"; "" when all are finite. (A non-finite velocity makes its weights
// non-finite in the same step, so the weights tell.)
std::string first_non_finite_param(const std::vector<Param*>& params, bool gradients) {
  const auto look = [](const Tensor& t, const std::string& what) -> std::string {
    if (!t || t.numel() == 0) return "";
    const std::vector<float> v = t.to_f32();
    const int64_t at = first_non_finite(DType::f32, v.data(), v.size());
    return at < 0 ? "" : what + " (element " + std::to_string(at) + ": " + number(v[static_cast<size_t>(at)]) + ")";
  };
  for (size_t i = 0; i < params.size(); ++i) {
    if (gradients)
      if (std::string r = look(params[i]->grad, params[i]->name + "'s gradient"); !r.empty()) return r;
    if (std::string r = look(params[i]->value, params[i]->name); !r.empty()) return r;
  }
  return "";
}

}  // namespace

// No NaN or Inf is ever written: a checkpoint or model holding one could only spread it.
void Trainer::require_finite_state(const std::string& what) const {
  std::vector<Param*> params = net_->params();
  const std::string bad = first_non_finite_param(params, false);
  if (!bad.empty())
    throw Error(ErrorKind::invalid_argument, "", "train",
                what + " refused: " + bad + " is not finite; nothing written");
}

void Trainer::diverged(int64_t step, float loss) const {
  std::vector<Param*> params = net_->params();
  const std::string first = first_non_finite_param(params, true);
  throw Error(
      ErrorKind::invalid_argument, "", "train",
      "diverged at step " + std::to_string(step + 1) + " (epoch " + std::to_string(state_->epoch + 1) +
          "): the loss is " + number(loss) + (first.empty() ? "" : "; first non-finite parameter: " + first) + " (lr " +
          number(config_.sgd.lr) + "; a lower one may converge)" +
          (config_.checkpoint_dir.empty() ? ""
                                          : "; the last checkpoint in " + config_.checkpoint_dir + " precedes it"));
}

}  // namespace tandem::nn
