// Training checkpoints: what a run saves (weights, optimizer state, masks, buffers, the
// exchange's state, the progress, the configuration and a fingerprint of the data), how a
// resume checks all of it before it takes any, and the exported model.
#include <bit>
#include <filesystem>

#include "batches.h"
#include "exchange.h"
#include "tandem/file.h"
#include "tandem/log.h"
#include "tandem/nn/checkpoint.h"
#include "tandem/nn/model_file.h"
#include "trainer_state.h"

namespace tandem::nn {

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

namespace {

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
  return {{"optimizer", optimizer_name(c.kind)}, {"beta1", c.beta1},        {"beta2", c.beta2}, {"eps", c.eps},
          {"warmup_steps", c.warmup_steps},      {"clip_norm", c.clip_norm}};
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
           {"normalize",
            {{"mean", batches_->norm().mean},
             {"scale", batches_->norm().scale}}},  // for readers of the model (the C API)
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
  for (const auto& [key, fallback] : defaults.items()) {    // absent: older checkpoints
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
    TANDEM_LOG(warn, "checkpoint " << path
                                   << " records no data fingerprint (written before they were): the data "
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

void Trainer::export_model(const std::string& path, bool fold_batchnorm) const {
  require_finite_state("export " + path);
  write_model_file(path, *net_, batches_->norm(), fold_batchnorm);
}

}  // namespace tandem::nn
