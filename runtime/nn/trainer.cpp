#include "tandem/nn/trainer.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <random>

#include "exchange.h"
#include "tandem/error.h"
#include "tandem/file.h"
#include "tandem/json_read.h"
#include "tandem/log.h"
#include "tandem/nn/checkpoint.h"
#include "tandem/nn/model_file.h"

namespace tandem::nn {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

[[noreturn]] void bad_config(const std::string& what) { throw Error(ErrorKind::invalid_argument, "", "train", what); }

}  // namespace

// Where training stands; everything here is saved in checkpoints.
struct Trainer::State {
  int epoch = 0;              // current epoch (0-based)
  int64_t step_in_epoch = 0;  // optimizer steps done in the current epoch
  int64_t step = 0;           // optimizer steps done in total
  double epoch_loss_sum = 0;  // sum of the current epoch's step losses (this rank's)
  // Every rank's epoch_loss_sum, gathered when a checkpoint is saved: an epoch's loss is the mean
  // over the ranks of their own, so a resume mid-epoch must give each rank back its own sum.
  std::vector<double> epoch_loss_sums;
  double epoch_seconds = 0;  // training time of the current epoch so far
  int prune_steps_done = 0;
  std::vector<int64_t> shares;  // the split of a step's samples over the ranks
  int64_t optimizer_steps = 0;  // the optimizer's step count (Adam's t), at most `step`

  json to_json() const {
    return {{"epoch", epoch},
            {"step_in_epoch", step_in_epoch},
            {"step", step},
            {"epoch_loss_sum", epoch_loss_sum},
            {"epoch_loss_sums", epoch_loss_sums},
            {"epoch_seconds", epoch_seconds},
            {"prune_steps_done", prune_steps_done},
            {"shares", shares},
            {"optimizer_steps", optimizer_steps}};
  }
  // A checkpoint's "state", every field checked before any is taken: a crafted or damaged file
  // must not steer the run outside its data (a negative step_in_epoch would index before the
  // epoch's sample order). `steps_per_epoch` and `epochs` bound the progress; `bad` throws.
  static State from_json(const json& j, int epochs, int64_t steps_per_epoch, int prune_steps, int ranks,
                         const std::function<void(const std::string&)>& bad) {
    if (!j.is_object()) bad("\"state\" is not an object");
    const auto integer = [&](const char* key, int64_t lo, int64_t hi) {
      if (!j.contains(key)) bad("\"state\" lacks \"" + std::string(key) + "\"");
      const json& v = j[key];
      const std::optional<int64_t> i = json_integer<int64_t>(v);
      if (!i || *i < lo || *i > hi)
        bad("state " + std::string(key) + " = " + v.dump() + " is not an integer in [" + std::to_string(lo) + ", " +
            std::to_string(hi) + "]");
      return *i;
    };
    const auto real = [&](const char* key) {
      if (!j.contains(key)) bad("\"state\" lacks \"" + std::string(key) + "\"");
      const json& v = j[key];
      if (!v.is_number() || !std::isfinite(v.get<double>()))
        bad("state " + std::string(key) + " = " + v.dump() + " is not a finite number");
      return v.get<double>();
    };
    State st;
    st.epoch = static_cast<int>(integer("epoch", 0, epochs));
    // An epoch ends once its last step is done; a finished run (epoch = epochs) has no steps left.
    st.step_in_epoch = integer("step_in_epoch", 0, st.epoch == epochs ? 0 : steps_per_epoch);
    st.step = integer("step", 0, INT64_MAX);
    // Absent in checkpoints from before Adam, whose optimizer (SGD) stepped once per step.
    st.optimizer_steps = j.contains("optimizer_steps") ? integer("optimizer_steps", 0, st.step) : st.step;
    st.epoch_loss_sum = real("epoch_loss_sum");
    if (j.contains("epoch_loss_sums")) {  // absent in checkpoints of one process, and older ones
      const json& v = j["epoch_loss_sums"];
      if (!v.is_array() || (!v.empty() && v.size() != static_cast<size_t>(ranks)))
        bad("state epoch_loss_sums = " + v.dump() + " is not a list of one sum per rank (" + std::to_string(ranks) +
            ")");
      for (const json& x : v) {
        if (!x.is_number() || !std::isfinite(x.get<double>()))
          bad("state epoch_loss_sums = " + v.dump() + " is not a list of finite numbers");
        st.epoch_loss_sums.push_back(x.get<double>());
      }
    }
    st.epoch_seconds = real("epoch_seconds");
    if (st.epoch_seconds < 0) bad("state epoch_seconds = " + std::to_string(st.epoch_seconds) + " is negative");
    st.prune_steps_done = static_cast<int>(integer("prune_steps_done", 0, prune_steps));
    if (j.contains("shares")) {
      const json& s = j["shares"];
      if (!s.is_array()) bad("state shares = " + s.dump() + " is not a list");
      for (const json& v : s) {
        const std::optional<int64_t> share = json_integer<int64_t>(v);
        if (!share) bad("state shares = " + s.dump() + " is not a list of integers");
        st.shares.push_back(*share);
      }
    }
    return st;
  }
};

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
  if (spec.input.numel() != train.rows * train.cols || spec.input[0] != 1)
    bad_config("model " + spec.name + " takes " + spec.input.str() + " inputs; the data has " +
               std::to_string(train.rows) + "x" + std::to_string(train.cols) + " images");
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
      if (!d.props().slowdown.empty()) log_once(LogLevel::warn, "slowdown " + d.id(), d.id() + ": " + d.props().slowdown);
  net_ = std::make_unique<Network>(spec, config_.placement);
  net_->set_fusion(true);
  net_->init(config_.seed);

  // Normalize inputs by the training set's mean and standard deviation.
  double sum = 0, sq = 0;
  for (uint8_t v : train.images) sum += v, sq += double(v) * v;
  const double n = static_cast<double>(train.images.size());
  const double mean = sum / n, var = std::max(1e-12, sq / n - mean * mean);
  mean_ = static_cast<float>(mean / 255.0);
  inv_std_ = static_cast<float>(255.0 / std::sqrt(var));

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
    for (const std::string& p : {checkpoint_path(), previous_checkpoint_path()}) removed += remove_abandoned_temporaries(p);
    if (removed > 0)
      TANDEM_LOG(info, "removed " << removed << " temporary file(s) an interrupted checkpoint write left in "
                                  << config_.checkpoint_dir);
    if (!config_.resume && !config_.overwrite_checkpoint && std::filesystem::exists(checkpoint_path()))
      bad_config("--checkpoint " + config_.checkpoint_dir + " holds a checkpoint of an earlier run: --resume continues "
                 "it, --overwrite starts afresh and replaces it");
  }
  if (config_.resume) load_checkpoint();
}

Trainer::~Trainer() = default;

const std::vector<collectives::CodecChoice>& Trainer::codec_choices() const { return exchange_->codec_choices(); }

std::string Trainer::checkpoint_path() const {
  return (std::filesystem::path(config_.checkpoint_dir) / "checkpoint.tdm").string();
}

std::string Trainer::previous_checkpoint_path() const {
  return (std::filesystem::path(config_.checkpoint_dir) / "checkpoint.prev.tdm").string();
}

const DataFingerprint& Trainer::data_print(bool train) {
  std::optional<DataFingerprint>& p = train ? train_print_ : test_print_;
  if (!p) p = fingerprint(train ? train_ : test_);
  return *p;
}

bool Trainer::finished() const { return state_->epoch >= config_.epochs; }

// Puts samples idx[0..n) of d, normalized, into input_ and their labels into labels_.
void Trainer::upload(const Dataset& d, const uint32_t* idx, int64_t n) {
  const int64_t pixels = d.rows * d.cols;
  if (staging_.size() < static_cast<size_t>(n * pixels))
    staging_ = host_vector(static_cast<size_t>(n * pixels), 0.0f, "the training input staging");
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* img = d.images.data() + static_cast<int64_t>(idx[i]) * pixels;
    float* out = staging_.data() + i * pixels;
    for (int64_t k = 0; k < pixels; ++k) out[k] = (img[k] * (1.0f / 255.0f) - mean_) * inv_std_;
    labels[static_cast<size_t>(i)] = d.labels[idx[i]];
  }
  const Shape& sample = net_->spec().input;
  const Shape in{n, sample[0], sample[1], sample[2]};
  if (!input_ || !(input_.shape() == in)) input_ = Tensor::empty(net_->input_device(), in);
  if (!labels_ || labels_.shape()[0] != n) labels_ = Tensor::empty(net_->output_device(), {n}, DType::i32);
  input_.copy_from_host(staging_.data());
  labels_.copy_from_host(labels.data());
}

double Trainer::evaluate() {
  std::vector<uint32_t> idx(static_cast<size_t>(test_.count));
  std::iota(idx.begin(), idx.end(), 0u);
  int64_t correct = 0;
  std::vector<float> logits;
  for (int64_t first = 0; first < test_.count; first += config_.eval_batch) {
    const int64_t n = std::min(config_.eval_batch, test_.count - first);
    upload(test_, idx.data() + first, n);
    const Tensor& out = net_->infer(input_);
    logits = out.to_f32();
    const int64_t k = out.shape()[1];
    for (int64_t i = 0; i < n; ++i) {
      const float* row = logits.data() + i * k;
      correct += (std::max_element(row, row + k) - row) == test_.labels[static_cast<size_t>(first + i)];
    }
  }
  return static_cast<double>(correct) / static_cast<double>(test_.count);
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
    // The epoch's order depends only on (seed, epoch): a resumed run sees the same batches.
    std::vector<uint32_t> order(static_cast<size_t>(train_.count));
    std::iota(order.begin(), order.end(), 0u);
    std::shuffle(order.begin(), order.end(),
                 std::mt19937_64(config_.seed * 1000003u + static_cast<uint64_t>(st.epoch)));
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
      // This rank's slice of the step; each piece weighs n × ranks / step samples, so that the
      // mean over ranks is the mean over the step's samples whatever the split.
      const int64_t mine = balancer_->shares()[static_cast<size_t>(rank())];
      const uint32_t* step_samples = order.data() + st.step_in_epoch * per_step + balancer_->offset(rank());
      const auto compute_start = Clock::now();
      const double comm_before = traffic.comm_seconds;
      for (int64_t first = 0; first < mine; first += piece_) {
        const int64_t n = std::min(piece_, mine - first);
        const float share = static_cast<float>(n * ranks()) / static_cast<float>(per_step);
        upload(train_, step_samples + first, n);
        net_->set_step(static_cast<uint32_t>(st.step), static_cast<uint64_t>(balancer_->offset(rank()) + first));
        net_->forward(input_);
        if (overlap && first + n >= mine) {  // the last piece: each layer's sums go out as backward finishes them
          const auto on_ready = [&](size_t f, size_t count) {
            accumulate(f, count, share, first == 0);
            exchange_->ready(static_cast<uint32_t>(st.step), f, count);
          };
          loss += share * net_->backward(labels_, on_ready, accum_.empty() ? share : 1.0f);
        } else {
          loss += share * net_->backward(labels_, {}, accum_.empty() ? share : 1.0f);
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

json fingerprint_json(const DataFingerprint& f) {
  return {{"source", f.source}, {"count", f.count}, {"rows", f.rows}, {"cols", f.cols}, {"crc32c", f.crc32c}};
}

std::optional<DataFingerprint> fingerprint_from_json(const json& j) {
  if (!j.is_object() || !j.contains("source") || !j["source"].is_string()) return std::nullopt;
  const auto integer = [&](const char* key) { return j.contains(key) ? json_integer<int64_t>(j[key]) : std::nullopt; };
  const auto count = integer("count"), rows = integer("rows"), cols = integer("cols"), crc = integer("crc32c");
  if (!count || !rows || !cols || !crc || !std::in_range<uint32_t>(*crc)) return std::nullopt;
  return DataFingerprint{j["source"].get<std::string>(), *count, *rows, *cols, static_cast<uint32_t>(*crc)};
}

// The optimizer's settings beyond lr, momentum, weight decay and schedule (added with Adam: a
// checkpoint from before them was made with OptimizerConfig's defaults).
json optimizer_json(const OptimizerConfig& c) {
  return {{"optimizer", optimizer_name(c.kind)}, {"beta1", c.beta1},  {"beta2", c.beta2},
          {"eps", c.eps},                        {"warmup_steps", c.warmup_steps}, {"clip_norm", c.clip_norm}};
}

json config_json(const TrainConfig& c, const ModelSpec& spec) {
  json j = {
      {"model", json::parse(spec.to_json())},
      {"seed", c.seed},
      {"batch", c.batch},
      {"accumulate", c.accumulate},
      {"piece", std::min(c.batch, c.chunk)},  // how a step is split changes its rounding
      {"epochs", c.epochs},
      {"lr", c.sgd.lr},
      {"momentum", c.sgd.momentum},
      {"weight_decay", c.sgd.weight_decay},
      {"schedule", schedule_name(c.sgd.schedule)},
      {"prune", prune_name(c.prune)},
      {"prune_start", c.prune.start_epoch},
      {"prune_steps", c.prune.steps},
      {"compress", c.auto_budget > 0 ? "auto:" + std::to_string(c.auto_budget) : compression::codec_string(c.compress)},
      {"error_feedback", c.error_feedback},
      {"ranks", c.comm ? c.comm->size() : 1}};
  j.update(optimizer_json(c.sgd));
  return j;
}

}  // namespace

void Trainer::save_checkpoint() {
  // Weights, velocities and masks are the same on every rank: rank 0 writes them, with every
  // rank's synchronization state gathered (all ranks call this at the same step).
  std::vector<NamedTensor> sync_state = exchange_->save_state();
  state_->epoch_loss_sums.clear();
  if (config_.comm && ranks() > 1)  // bit for bit: the resumed epoch's loss must equal an unbroken one's
    for (int64_t bits : config_.comm->allgather_value(std::bit_cast<int64_t>(state_->epoch_loss_sum)))
      state_->epoch_loss_sums.push_back(std::bit_cast<double>(bits));
  if (rank() != 0) return;
  require_finite_state("checkpoint");
  std::filesystem::create_directories(config_.checkpoint_dir);
  CheckpointData data;
  for (NamedTensor& t : sync_state) data.tensors.push_back(std::move(t));
  state_->shares = balancer_->shares();
  state_->optimizer_steps = optimizer_->steps();
  data.header_json =
      json{{"kind", "checkpoint"},
           {"config", config_json(config_, net_->spec())},
           {"normalize", {{"mean", mean_}, {"scale", inv_std_}}},  // for readers of the model (the C API)
           {"data", {{"train", fingerprint_json(data_print(true))}, {"test", fingerprint_json(data_print(false))}}},
           {"state", state_->to_json()}}
          .dump();
  std::vector<Param*> params = net_->params();
  const std::vector<std::vector<Tensor>>& opt = optimizer_->state(params);
  const std::vector<std::string> opt_names = optimizer_->state_names();  // "velocity", or "adam_m" and "adam_v"
  for (size_t i = 0; i < params.size(); ++i) {
    data.tensors.push_back(NamedTensor::of("param:" + params[i]->name, params[i]->value));
    for (size_t k = 0; k < opt_names.size(); ++k)
      data.tensors.push_back(NamedTensor::of(opt_names[k] + ":" + params[i]->name, opt[i][k]));
    if (params[i]->mask) data.tensors.push_back(NamedTensor::of("mask:" + params[i]->name, params[i]->mask));
  }
  for (Param* b : net_->buffers()) data.tensors.push_back(NamedTensor::of("buffer:" + b->name, b->value));
  // checkpoint.tdm is always a whole checkpoint, the last or the new one: the new one replaces it
  // atomically, and a failed write (full disk, a crash) leaves the last one in place. The one
  // before is kept too, as checkpoint.prev.tdm (a hard link to it).
  const std::string path = checkpoint_path();
  const std::string prev = previous_checkpoint_path();
  if (std::filesystem::exists(path)) {
    std::filesystem::remove(prev);
    std::error_code ec;
    std::filesystem::create_hard_link(path, prev, ec);
    if (ec) write_file_atomic(prev, read_file(path, "checkpoint " + path));  // a file system without hard links
  }
  write_checkpoint(path, data);
}

void Trainer::load_checkpoint() {
  if (config_.checkpoint_dir.empty()) bad_config("--resume needs a checkpoint directory");
  const std::string path = checkpoint_path();
  const std::string prev = previous_checkpoint_path();
  CheckpointData data;
  try {
    data = read_checkpoint(path);
  } catch (const Error& e) {
    if (!std::filesystem::exists(prev)) throw;
    throw Error(
        e.kind(), "", e.op(),
        e.detail() + "; the previous checkpoint " + prev + " is intact: move it to " + path + " to resume from it");
  }
  resume(std::move(data), path);
}

void Trainer::resume(CheckpointData data, const std::string& path) {
  // Everything is checked before anything is taken, so a refused checkpoint leaves the trainer as it was.
  const auto bad = [&](const std::string& what) { bad_config("checkpoint " + path + ": " + what); };
  const json header = json::parse(data.header_json);  // parse_checkpoint wrote it: a JSON object
  const json* kind = header.is_object() && header.contains("kind") ? &header["kind"] : nullptr;
  if (kind == nullptr || *kind != "checkpoint") bad_config(path + " is not a training checkpoint");
  if (!header.contains("config") || !header["config"].is_object()) bad("lacks its \"config\"");
  const json mine = config_json(config_, net_->spec()), &theirs = header["config"];
  for (const char* key : {"model", "seed", "batch", "accumulate", "piece", "epochs", "lr", "momentum", "weight_decay",
                          "schedule", "prune", "prune_start", "prune_steps", "compress", "error_feedback", "ranks"}) {
    if (!theirs.contains(key)) bad("its config lacks \"" + std::string(key) + "\"");
    if (mine.at(key) != theirs.at(key))
      bad_config("checkpoint " + path + " was made with " + key + " = " + theirs.at(key).dump() + ", this run has " +
                 mine.at(key).dump() + " (resuming would not continue the same trajectory)");
  }
  const json defaults = optimizer_json(OptimizerConfig{});  // (a named value: items() of a temporary would dangle)
  for (const auto& [key, fallback] : defaults.items()) {  // absent: older checkpoints
    const json& then = theirs.contains(key) ? theirs.at(key) : fallback;
    if (mine.at(key) != then)
      bad_config("checkpoint " + path + " was made with " + key + " = " + then.dump() + ", this run has " +
                 mine.at(key).dump() + " (resuming would not continue the same trajectory)");
  }
  // The same data as the checkpointed run: other data (another --data or --train-subset) would
  // not continue its trajectory.
  if (header.contains("data") && header["data"].is_object()) {
    for (const auto& [split, here] : {std::pair{"train", &data_print(true)}, std::pair{"test", &data_print(false)}}) {
      const std::optional<DataFingerprint> then = fingerprint_from_json(header["data"].value(split, json()));
      if (!then) bad("its data fingerprint is malformed");
      if (!then->same_data(*here))
        bad_config("checkpoint " + path + " was made on " + split + " data " + then->str() + "; this run has " +
                   here->str() + " (resuming would not continue the same trajectory)");
    }
  } else {
    TANDEM_LOG(warn, "checkpoint " << path << " records no data fingerprint (written before they were): the data "
                                            "cannot be checked to be the same");
  }
  if (!header.contains("state")) bad("lacks its \"state\"");
  const int64_t per_step = config_.batch * config_.accumulate * ranks();
  const int prune_steps = config_.prune.method == PruneMethod::none ? 0 : config_.prune.steps;
  State st = State::from_json(header["state"], config_.epochs, train_.count / per_step, prune_steps, ranks(), bad);
  if (!st.epoch_loss_sums.empty()) st.epoch_loss_sum = st.epoch_loss_sums[static_cast<size_t>(rank())];
  if (!st.shares.empty()) {
    try {
      LoadBalancer(ranks(), per_step).set_shares(st.shares);  // the same checks, on a scratch balancer
    } catch (const Error& e) {
      bad("state shares: " + e.detail());
    }
  }
  std::vector<Param*> params = net_->params();
  std::vector<std::vector<Tensor>>& opt = optimizer_->state(params);
  const std::vector<std::string> opt_names = optimizer_->state_names();
  auto check = [&](const std::string& name, const Shape& shape) -> const NamedTensor* {
    const NamedTensor* t = data.find(name);
    if (t != nullptr && (!(t->shape == shape) || t->dtype != DType::f32))
      bad_config("checkpoint " + path + ": tensor " + name + " is " + std::string(dtype_name(t->dtype)) +
                 t->shape.str() + ", the model needs f32" + shape.str());
    return t;
  };
  std::vector<std::string> roles = {"param:"};
  for (const std::string& n : opt_names) roles.push_back(n + ":");
  for (Param* p : params)
    for (const std::string& role : roles)
      if (check(role + p->name, p->value.shape()) == nullptr)
        bad_config("checkpoint " + path + " lacks tensor " + role + p->name);
  for (Param* p : params) check("mask:" + p->name, p->value.shape());
  for (Param* b : net_->buffers())
    if (check("buffer:" + b->name, b->value.shape()) == nullptr)
      bad_config("checkpoint " + path + " lacks tensor buffer:" + b->name);
  for (const NamedTensor& t : data.tensors)
    if (const int64_t at = first_non_finite(t.dtype, t.bytes.data(), t.bytes.size() / dtype_size(t.dtype)); at >= 0)
      bad("tensor " + t.name + " holds a non-finite value at element " + std::to_string(at));
  exchange_->check_state(data, path);

  for (size_t i = 0; i < params.size(); ++i) {
    params[i]->value.copy_from_host(data.find("param:" + params[i]->name)->bytes.data());
    for (size_t k = 0; k < opt_names.size(); ++k)
      opt[i][k].copy_from_host(data.find(opt_names[k] + ":" + params[i]->name)->bytes.data());
    if (const NamedTensor* m = data.find("mask:" + params[i]->name)) {
      params[i]->mask = Tensor::empty(params[i]->value.device(), params[i]->value.shape());
      params[i]->mask.copy_from_host(m->bytes.data());
    }
  }
  for (Param* b : net_->buffers()) b->value.copy_from_host(data.find("buffer:" + b->name)->bytes.data());
  *state_ = std::move(st);
  optimizer_->set_steps(state_->optimizer_steps);
  if (!state_->shares.empty()) balancer_->set_shares(state_->shares);
  exchange_->restore_state(std::move(data), path);
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

void Trainer::export_model(const std::string& path) const {
  require_finite_state("export " + path);
  write_model_file(path, *net_, {mean_, inv_std_});
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
    throw Error(ErrorKind::invalid_argument, "", "train", what + " refused: " + bad + " is not finite; nothing written");
}

void Trainer::diverged(int64_t step, float loss) const {
  std::vector<Param*> params = net_->params();
  const std::string first = first_non_finite_param(params, true);
  throw Error(ErrorKind::invalid_argument, "", "train",
              "diverged at step " + std::to_string(step + 1) + " (epoch " + std::to_string(state_->epoch + 1) +
                  "): the loss is " + number(loss) + (first.empty() ? "" : "; first non-finite parameter: " + first) +
                  " (lr " + number(config_.sgd.lr) + "; a lower one may converge)" +
                  (config_.checkpoint_dir.empty() ? "" : "; the last checkpoint in " + config_.checkpoint_dir + " precedes it"));
}

}  // namespace tandem::nn
