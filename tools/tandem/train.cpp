// tandem train: train a model on an MNIST-format dataset, optionally pruned, with checkpoints.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "commands.h"
#include "options.h"
#include "report/charts.h"
#include "table.h"
#include "tandem/collectives/communicator.h"
#include "tandem/collectives/nccl.h"
#include "tandem/error.h"
#include "tandem/file.h"
#include "tandem/log.h"
#include "tandem/nn/calibration.h"
#include "tandem/nn/trainer.h"
#include "tandem/topology.h"

namespace tandem::cli {
namespace {

struct TrainOptions {
  nn::TrainConfig config;
  std::string data = nn::default_fashion_mnist_dir, device = "cpu:0", prune = "none", schedule = "cosine";
  std::string optimizer = "sgd";
  bool fold_bn = false;   // --fold-bn: the exported model has batch norm folded into its convolutions
  bool lr_given = false;  // --lr on the command line (else adam and adamw take PyTorch's 1e-3)
  std::string metrics, export_path, plot, compress = "none";
  int64_t train_subset = 0, test_subset = 0;
  // Token data for a token model (one of them instead of --data): text as bytes, a token file
  // with its vocabulary, or synthetic tokens; the last test_fraction of the sequences is the test split.
  std::string text, tokens, vocab;
  int token_bits = 16;
  int64_t synthetic_tokens = 0;
  double test_fraction = 0.1;
  double target_accuracy = 0.9;
  double comm_timeout = 60;
  std::string bucket = "25";
  std::string place;
  std::string comm = "auto";
  std::string sync = "allreduce";
};

void progress_bar(const nn::StepProgress& p, int epochs) {
  const int width = 30;
  const int filled = static_cast<int>(width * p.step_in_epoch / std::max<int64_t>(1, p.steps_per_epoch));
  std::fprintf(stderr, "\r\033[Kepoch %d/%d [%s%s] %lld/%lld loss %.4f", p.epoch + 1, epochs,
               std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(width - filled), '.').c_str(), static_cast<long long>(p.step_in_epoch),
               static_cast<long long>(p.steps_per_epoch), p.loss);
}

int env_int(const char* name, int otherwise) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : otherwise;
}

// Places this rank by the machine's topology: on a machine with several NUMA nodes it runs on
// the node of the accelerator it drives (without accelerators, ranks spread over the nodes in
// order); and it returns the communicator renumbered in ring order, so that MPI's ring
// algorithms pass data between close neighbours. Ranks of one host are contiguous in the world
// (mpirun's default --map-by slot); their ring positions reorder them within the host.
std::shared_ptr<collectives::Communicator> place_rank(std::shared_ptr<collectives::Communicator> world) {
  if (!topo::topology_built()) return world;
  const topo::Topology t = topo::Topology::local();
  const int local = env_int("OMPI_COMM_WORLD_LOCAL_RANK", 0);
  const int local_size = std::max(local + 1, env_int("OMPI_COMM_WORLD_LOCAL_SIZE", 1));
  const std::vector<int> map = topo::map_ranks(t, local_size, topo::PciKind::gpu);
  if (t.numa.size() > 1) {
    const int numa = map.empty() ? t.numa[static_cast<size_t>(local) % t.numa.size()].index
                                 : topo::numa_for(t, map[static_cast<size_t>(local)]);
    if (!topo::bind_to_numa(t, numa)) TANDEM_LOG(warn, "could not bind rank " << local << " to NUMA node " << numa);
  }
  const int position = map.empty() ? local : topo::ring_positions(t, map)[static_cast<size_t>(local)];
  Stream s(cpu_device());
  Tensor moved = Tensor::from_vector(cpu_device(), {1}, std::vector<int32_t>{position != local});
  world->allreduce(s, moved, moved, collectives::ReduceOp::max);  // every rank decides alike whether to split
  if (moved.to_vector<int32_t>()[0] == 0) return world;
  TANDEM_LOG(info, "rank " << world->rank() << " takes ring position " << position << " on its host");
  return world->split(0, world->rank() - local + position);
}

// "cuda" under mpirun: the GPU the topology gives this rank (map_ranks, the same choice that
// bound the rank to its GPU's NUMA node), matched by PCI address; without hwloc, the rank's
// position on its host modulo the GPUs.
Device rank_gpu() {
  std::vector<Device> gpus;
  for (const Device& d : devices())
    if (d.kind() == DeviceKind::cuda) gpus.push_back(d);
  if (gpus.empty())
    throw Error(ErrorKind::invalid_argument, "", "train", "--device cuda: this machine has no CUDA GPU");
  const int local = env_int("OMPI_COMM_WORLD_LOCAL_RANK", 0);
  const int local_size = std::max(local + 1, env_int("OMPI_COMM_WORLD_LOCAL_SIZE", 1));
  if (topo::topology_built()) {
    const topo::Topology t = topo::Topology::local();
    const std::vector<int> map = topo::map_ranks(t, local_size, topo::PciKind::gpu);
    if (!map.empty()) {
      const std::string& bus = t.devices[static_cast<size_t>(map[static_cast<size_t>(local)])].bus_id;
      for (const Device& d : gpus)
        if (d.props().pci_address == bus) return d;
    }
  }
  return gpus[static_cast<size_t>(local) % gpus.size()];
}

// Each layer's device: --device (under mpirun, a list gives rank r the r-th device, cycling), then
// --place: pins over it, or "auto" for the planner's choice from the machine's profile. A layer
// whose device lacks an op falls back to the CPU, with a warning (nn::Network).
std::vector<Device> placement(TrainOptions& o) {
  if (o.device == "cuda" && o.config.comm) o.device = rank_gpu().id();
  const std::vector<Device> listed = parse_device_list(o.device);
  const int rank = o.config.comm ? o.config.comm->rank() : 0;
  if (listed.size() > 1 && !o.config.comm)
    throw Error(ErrorKind::invalid_argument, "", "train",
                "--device " + o.device + " lists several devices: one per rank, under mpirun -np N");
  const Device mine = listed[static_cast<size_t>(rank) % listed.size()];
  o.device = mine.id();
  if (o.place.empty()) return {mine};
  const nn::ModelSpec spec = nn::load_model(o.config.model);
  nn::Plan plan;
  std::vector<Device> devs = {mine};
  if (o.place == "auto") {
    devs = devices();
    nn::CalibrateOptions co;
    co.models = {o.config.model};
    std::string why;
    const std::string path = nn::default_profile_path();
    const nn::Profile profile = nn::load_or_calibrate(path, devs, co, &why);
    if (!why.empty()) std::fprintf(stderr, "warning: %s%s\n", why.c_str(), path.empty() ? "" : ": calibrated afresh");
    plan = nn::plan_placement(nn::plan_input(spec, o.config.batch, devs, profile));
  } else {
    nn::PlanInput in;  // pins only: every layer may run anywhere, at no cost
    in.pins = nn::parse_pins(o.place);
    for (const auto& [pattern, id] : in.pins)
      if (std::none_of(devs.begin(), devs.end(),
                       [&id = id](const Device& d) { return d.id() == find_device(id).id(); }))
        devs.push_back(find_device(id));
    for (const Device& d : devs) in.devices.push_back(d.id());
    for (size_t i = 0; i < spec.layers.size(); ++i)
      in.layers.push_back(
          {spec.layer_name(i), std::vector<double>(devs.size(), 1.0), std::vector<std::string>(devs.size()), 0});
    for (auto& l : in.layers) l.seconds[0] = 0.5;  // unpinned layers stay on --device
    plan = nn::plan_placement(in);
  }
  std::vector<Device> out;
  std::string shown;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    out.push_back(devs[static_cast<size_t>(plan.device[i])]);
    shown += (i ? ", " : "") + spec.layer_name(i) + "→" + out.back().id();
  }
  std::printf("placement (%s): %s\n", o.place == "auto" ? "planned from the profile" : "pinned", shown.c_str());
  return out;
}

// --comm auto: NCCL when this rank's whole model is on one GPU and the build has NCCL.
bool use_nccl(const TrainOptions& o) {
  const auto& p = o.config.placement;
  const bool one_gpu =
      std::all_of(p.begin(), p.end(), [&](const Device& d) { return d.kind() == DeviceKind::cuda && d == p[0]; });
  if (o.comm == "mpi") return false;
  if (o.comm == "nccl") {
    if (!one_gpu) throw Error(ErrorKind::invalid_argument, "", "train", "--comm nccl needs every layer on one GPU");
    return true;
  }
  return one_gpu && collectives::nccl_built();
}

// --plot: every step's loss with each epoch's mean, and the test accuracy per epoch.
std::string training_plot(nn::Trainer& t, const std::vector<nn::EpochStats>& stats) {
  const bool tokens = t.network().spec().token_input();
  report::LinePanel loss{"training loss", "optimizer step (this run)", "loss", {}};
  report::LineSeries steps{"each step", {}, false}, means{"epoch mean", {}, true};
  for (size_t i = 0; i < t.step_losses().size(); ++i) steps.points.emplace_back(static_cast<double>(i + 1), t.step_losses()[i]);
  const double per_epoch = static_cast<double>(t.step_losses().size()) / static_cast<double>(stats.size());
  report::LinePanel acc{tokens ? "masked-token accuracy (test)" : "test accuracy", "epoch", "accuracy (%)", {}};
  report::LineSeries test{tokens ? "masked tokens predicted" : "test set", {}, true};
  for (size_t e = 0; e < stats.size(); ++e) {
    means.points.emplace_back(per_epoch * static_cast<double>(e + 1), stats[e].loss);
    test.points.emplace_back(stats[e].epoch + 1, 100 * stats[e].test_accuracy);
  }
  loss.series = {steps, means};
  acc.series = {test};
  return report::line_chart_svg({loss, acc});
}

// The run's training and test data: Fashion-MNIST-style images (--data), or token sequences as
// long as the model's input. The built-in encoder takes the data's vocabulary unless its name sets one.
std::pair<nn::Dataset, nn::Dataset> load_data(TrainOptions& o) {
  const bool token_data = !o.text.empty() || !o.tokens.empty() || o.synthetic_tokens > 0;
  if (!token_data) {
    set_stage("loading the data from " + o.data);
    return {nn::load_mnist(o.data, "train"), nn::load_mnist(o.data, "t10k")};
  }
  nn::TokenCorpus corpus;
  if (!o.text.empty()) {
    set_stage("reading the bytes of " + o.text);
    corpus = nn::read_bytes_as_tokens(o.text);
  } else if (!o.tokens.empty()) {
    set_stage("reading the tokens of " + o.tokens);
    corpus = nn::read_token_file(o.tokens, o.vocab, o.token_bits);
  }
  const std::optional<nn::EncoderShape> builtin = nn::encoder_shape(o.config.model);
  if (builtin && o.config.model.find("vocab=") == std::string::npos && o.synthetic_tokens == 0)
    o.config.model += std::string(o.config.model == "encoder" ? ":" : ",") + "vocab=" + std::to_string(corpus.vocab);
  const nn::ModelSpec spec = nn::load_model(o.config.model);
  if (!spec.token_input())
    throw Error(ErrorKind::invalid_argument, "", "train", "--model " + o.config.model + " reads images, not tokens (--text, --tokens, --synthetic-tokens)");
  if (o.synthetic_tokens > 0) corpus = nn::synthetic_tokens(o.synthetic_tokens, spec.vocab, o.config.seed);
  return nn::token_datasets(corpus, spec.input[0], o.test_fraction);
}

void run(TrainOptions& o) {
  // Under mpirun (more than one rank): data-parallel over MPI; rank 0 reports.
  if (collectives::launched_with_ranks()) {
    auto world = collectives::mpi_world();
    world->set_timeout(std::chrono::milliseconds(static_cast<int64_t>(o.comm_timeout * 1000)));
    // Ranks sharing this machine divide its cores (unless OMP_NUM_THREADS says otherwise).
    const int sharing = std::max(1, env_int("OMPI_COMM_WORLD_LOCAL_SIZE", world->size()));
    if (std::getenv("OMP_NUM_THREADS") == nullptr)
      set_cpu_threads(std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / sharing));
    o.config.comm = place_rank(world);
    if (o.config.comm->rank() != 0) {
      if (std::freopen("/dev/null", "w", stdout) == nullptr) throw Error(ErrorKind::io, "", "train", "no /dev/null");
      o.metrics.clear();
    }
  }
  const bool lead = !o.config.comm || o.config.comm->rank() == 0;
  // The options' values were checked at parse (options.h); here they are converted.
  if (o.sync == "ps") o.config.sync = nn::TrainConfig::Sync::ps;
  o.config.bucket_bytes =
      o.bucket == "auto" ? 0 : static_cast<size_t>(std::strtod(o.bucket.c_str(), nullptr) * (1 << 20));
  o.config.placement = placement(o);
  if (o.config.comm && use_nccl(o)) {
    o.config.comm = collectives::nccl_communicator(o.config.comm, o.config.placement[0]);
    std::printf("gradients between GPUs: NCCL\n");
  }
  o.config.prune = [&] {
    nn::PruneConfig pc = nn::parse_prune(o.prune);
    pc.start_epoch = o.config.prune.start_epoch;
    pc.steps = o.config.prune.steps;
    return pc;
  }();
  o.config.sgd.schedule = nn::parse_schedule(o.schedule);
  o.config.sgd.kind = nn::parse_optimizer(o.optimizer);
  if (o.config.sgd.kind != nn::OptimizerKind::sgd && !o.lr_given) o.config.sgd.lr = 1e-3f;
  if (o.compress == "auto" || o.compress.starts_with("auto:")) {
    o.config.auto_budget = o.compress.size() > 5 ? std::strtod(o.compress.c_str() + 5, nullptr) : 0.05;
  } else {
    o.config.compress = compression::parse_codec(o.compress);
  }
  std::pair<nn::Dataset, nn::Dataset> data = load_data(o);
  nn::Dataset &train = data.first, &test = data.second;
  if (o.train_subset > 0) train = nn::head(train, o.train_subset);
  if (o.test_subset > 0) test = nn::head(test, o.test_subset);
  set_stage("building " + o.config.model + " on " + o.device + " at batch " + std::to_string(o.config.batch));
  nn::Trainer trainer(o.config, train, test);
  const bool tty = lead && isatty(fileno(stderr));
  const int ranks = o.config.comm ? o.config.comm->size() : 1;
  if (ranks > 1 && lead) {
    std::printf("gradient sync: %s over %d ranks, buckets of %s\n",
                compression::codec_string(o.config.compress).c_str(), ranks,
                o.config.bucket_bytes ? fmt("%.2f MB", o.config.bucket_bytes / 1048576.0).c_str() : "auto size");
  }
  std::printf(
      "training %s on %s%s: %lld train / %lld test samples, batch %lld x %d, %d epochs, %s, lr %g (%s%s), "
      "%sprune %s, compress %s%s\n",
      trainer.network().spec().name.c_str(), o.device.c_str(),
      ranks > 1 ? (" x " + std::to_string(ranks) + " ranks (MPI)").c_str() : "", static_cast<long long>(train.count),
      static_cast<long long>(test.count), static_cast<long long>(o.config.batch), o.config.accumulate, o.config.epochs,
      o.optimizer.c_str(), o.config.sgd.lr, o.schedule.c_str(),
      o.config.sgd.warmup_steps > 0
          ? fmt(" after %lld warm-up steps", static_cast<long long>(o.config.sgd.warmup_steps)).c_str()
          : "",
      o.config.sgd.clip_norm > 0 ? fmt("gradients clipped to norm %g, ", o.config.sgd.clip_norm).c_str() : "",
      o.prune.c_str(), compression::codec_string(o.config.compress).c_str(),
      o.config.error_feedback ? " + error feedback" : "");
  std::ofstream metrics;
  if (!o.metrics.empty()) {
    metrics.open(o.metrics, std::ios::app);
    if (!metrics) throw Error(ErrorKind::io, "", "metrics " + o.metrics, "cannot open for appending");
  }
  Table epochs({"epoch", "loss", "test acc", "samples/s", "seconds", "lr", "sparsity"});
  double time_to_target = -1;
  double last_acc = 0, total_samples_per_s = 0;
  bool modeled = false;
  double modeled_elapsed = 0;
  int n_epochs = 0;
  set_stage("training");
  const auto stats = trainer.run(
      [&](const nn::StepProgress& p) {
        if (tty) progress_bar(p, o.config.epochs);
      },
      [&](const nn::EpochStats& e) {
        if (tty) std::fprintf(stderr, "\r\033[K");
        if (e.modeled)  // the device's time is the model's; the host's is simulation time
          std::printf(
              "epoch %d: loss %.4f, test accuracy %.2f%%, %.0f samples/s, %.3f s (modeled: the modeled devices' "
              "time plus the host's outside the simulator; simulating took %.1f s)\n",
              e.epoch + 1, e.loss, 100 * e.test_accuracy, e.modeled_samples_per_s, e.modeled_seconds, e.seconds);
        else
          std::printf("epoch %d: loss %.4f, test accuracy %.2f%%, %.0f samples/s, %.1f s (measured)\n", e.epoch + 1,
                      e.loss, 100 * e.test_accuracy, e.samples_per_s, e.seconds);
        std::fflush(stdout);
        const double sps = e.modeled ? e.modeled_samples_per_s : e.samples_per_s;
        modeled = modeled || e.modeled;
        epochs.add({std::to_string(e.epoch + 1), fmt("%.4f", e.loss), fmt("%.2f%%", 100 * e.test_accuracy),
                    fmt("%.0f", sps), e.modeled ? fmt("%.3f", e.modeled_seconds) : fmt("%.1f", e.seconds),
                    fmt("%.4g", e.lr), fmt("%.1f%%", 100 * e.sparsity)});
        modeled_elapsed += e.modeled_seconds;
        if (time_to_target < 0 && e.test_accuracy >= o.target_accuracy)
          time_to_target = e.modeled ? modeled_elapsed : e.elapsed;
        last_acc = e.test_accuracy;
        total_samples_per_s += sps;
        ++n_epochs;
        if (metrics.is_open()) {
          metrics << nlohmann::json{{"epoch", e.epoch + 1},
                                    {"loss", e.loss},
                                    {"test_accuracy", e.test_accuracy},
                                    {"samples_per_s", sps},
                                    {"seconds", e.modeled ? e.modeled_seconds : e.seconds},
                                    {"host_seconds", e.seconds},
                                    {"lr", e.lr},
                                    {"sparsity", e.sparsity},
                                    {"compression_ratio", e.compression_ratio},
                                    {"ranks", e.ranks},
                                    {"comm_seconds", e.comm_seconds},
                                    {"bytes_per_step", e.bytes_per_step},
                                    {"buckets", e.buckets},
                                    {"rank_shares", e.rank_shares},
                                    {"bucket_bytes", e.bucket_bytes},
                                    {"timing", e.modeled ? "modeled" : "measured"}}
                         .dump()
                  << "\n";
          metrics.flush();
          if (!metrics)
            throw Error(ErrorKind::io, "", "metrics " + o.metrics,
                        std::string("write failed: ") + std::strerror(errno));
        }
      });
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (metrics.is_open()) {
    metrics.close();
    if (!metrics)
      throw Error(ErrorKind::io, "", "metrics " + o.metrics, std::string("close failed: ") + std::strerror(errno));
  }
  for (const auto& ev : trainer.prune_events()) {
    std::printf("\npruned at epoch %d to %.1f%%: test accuracy %.2f%% -> %.2f%% (before fine-tuning)\n", ev.epoch + 1,
                100 * ev.target, 100 * ev.accuracy_before, 100 * ev.accuracy_after);
    Table t({"parameter", "sparsity"});
    for (const auto& [name, s] : ev.layer_sparsity) t.add({name, fmt("%.1f%%", 100 * s)});
    t.print();
  }
  if (stats.empty()) {
    std::printf("stopped after %lld steps%s\n", static_cast<long long>(o.config.max_steps),
                o.config.checkpoint_dir.empty() ? "" : (" (checkpoint in " + o.config.checkpoint_dir + ")").c_str());
  } else {
    std::printf("\n");
    epochs.print();
    std::printf("\nsummary (%s):\n",
                modeled ? "modeled: FPGA time from the performance model, host time outside the simulator measured"
                        : "measured");
    Table summary({"model", "ranks", "final test acc", "time to " + fmt("%.0f%%", 100 * o.target_accuracy),
                   "mean samples/s", "sparsity", "compression", "comm share"});
    double comm = 0, seconds = 0;
    for (const auto& e : stats) comm += e.comm_seconds, seconds += e.seconds;
    summary.add({trainer.network().spec().name, std::to_string(ranks), fmt("%.2f%%", 100 * last_acc),
                 time_to_target < 0 ? "not reached" : fmt("%.1f s", time_to_target),
                 fmt("%.0f", total_samples_per_s / std::max(1, n_epochs)), fmt("%.1f%%", 100 * stats.back().sparsity),
                 fmt("%.1fx", stats.back().compression_ratio),
                 ranks > 1 ? fmt("%.1f%%", 100 * comm / std::max(1e-9, seconds)) : "-"});
    summary.print();
    std::string mem;
    for (const Device& d : trainer.network().layer_devices())
      if (mem.find(d.id()) == std::string::npos)
        mem += (mem.empty() ? "" : ", ") + d.id() + " " +
               fmt("%.1f MiB", static_cast<double>(trainer.network().memory_bytes(d)) / 1048576);
    std::printf("peak memory (planned: parameters, gradients and the larger pass's activations): %s\n", mem.c_str());
  }
  if (!trainer.codec_choices().empty()) {
    std::printf("\ncompress auto (relative error budget %g; chosen on the first step's gradients):\n",
                o.config.auto_budget);
    Table t({"bucket", "codec", "relative error", "predicted sync (ms)", "message bytes"});
    for (size_t b = 0; b < trainer.codec_choices().size(); ++b) {
      const auto& c = trainer.codec_choices()[b];
      t.add({std::to_string(b), compression::codec_string(c.spec), fmt("%.4f", c.relative_error),
             fmt("%.3f", c.predicted_seconds * 1e3), std::to_string(c.message_bytes)});
    }
    t.print();
  }
  if (!o.plot.empty() && lead && !stats.empty()) {
    write_file_atomic(o.plot, training_plot(trainer, stats));
    std::printf("wrote the loss and accuracy curves to %s\n", o.plot.c_str());
  }
  if (!o.export_path.empty() && lead) {
    trainer.export_model(o.export_path, o.fold_bn);
    std::printf("exported the model to %s%s\n", o.export_path.c_str(),
                o.fold_bn ? " (batch norm folded into the convolutions)" : "");
  }
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a model (Fashion-MNIST by default), optionally pruned");
  auto o = std::make_shared<TrainOptions>();
  nn::TrainConfig& c = o->config;
  cmd->add_option("--model", c.model, model_help())
      ->capture_default_str()
      ->check(model_source());
  CLI::Option* data = cmd->add_option("--data", o->data, "directory with MNIST-format IDX files")
                          ->capture_default_str()
                          ->check(CLI::ExistingDirectory);
  // Token models (--model encoder): one source of token sequences instead of --data.
  CLI::Option* text = cmd->add_option("--text", o->text,
                                      "train a token model on the bytes of this file, or of every file of this directory "
                                      "(bytes are the tokens, 256 is [MASK]; e.g. " + std::string(nn::default_text_corpus) + ")")
                          ->check(text_source());
  CLI::Option* tokens =
      cmd->add_option("--tokens", o->tokens, "train a token model on this file of little-endian ids (--token-bits each)")
          ->check(input_file());
  CLI::Option* vocab = cmd->add_option("--vocab", o->vocab, "with --tokens: the vocabulary, one token per line (id = line), one of them [MASK]")
                           ->check(input_file())
                           ->needs(tokens);
  tokens->needs(vocab);
  cmd->add_option("--token-bits", o->token_bits, "with --tokens: bits per id, 16 or 32")
      ->capture_default_str()
      ->check(CLI::IsMember({16, 32}))
      ->needs(tokens);
  CLI::Option* synthetic = cmd->add_option("--synthetic-tokens", o->synthetic_tokens,
                                           "train a token model on this many random tokens (throughput runs; [MASK] is the "
                                           "vocabulary's last id)")
                               ->check(whole(2, int64_t{1} << 31));
  cmd->add_option("--test-fraction", o->test_fraction, "with token data: the share of sequences held out for the test")
      ->capture_default_str()
      ->check(number({0.001, 0.5}));
  for (CLI::Option* a : {data, text, tokens, synthetic})
    for (CLI::Option* b : {data, text, tokens, synthetic})
      if (a != b) a->excludes(b);
  cmd->add_option("--device", o->device,
                  "device for every layer; under mpirun a comma-separated list gives rank r the r-th (cycling)")
      ->capture_default_str();
  cmd->add_option("--comm", o->comm,
                  "under mpirun: nccl (GPU ranks), mpi, or auto (NCCL when each rank's model is on one GPU)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "mpi", "nccl"}));
  cmd->add_option("--place", o->place,
                  "layers on other devices: pins (conv1=fpga-sim:0,fc*=cpu) or auto (the planner, from the profile)")
      ->check(pins_spec());
  cmd->add_option("--epochs", c.epochs, "epochs")->capture_default_str()->check(whole(1, 100000));
  cmd->add_option("--batch", c.batch, "samples per micro-batch")->capture_default_str()->check(whole(1, 1 << 20));
  cmd->add_option("--accumulate", c.accumulate, "micro-batches per optimizer step")
      ->capture_default_str()
      ->check(whole(1, 4096));
  cmd->add_option("--chunk", c.chunk, "most samples per forward/backward pass (larger batches are split)")
      ->capture_default_str()
      ->check(whole(1, 1 << 20));
  cmd->add_option("--optimizer", o->optimizer,
                  "sgd (momentum), adam (torch.optim.Adam: weight decay added to the gradient) or adamw "
                  "(torch.optim.AdamW: decoupled weight decay)")
      ->capture_default_str()
      ->check(optimizer_spec());
  cmd->add_option("--lr", c.sgd.lr, "learning rate (default: 0.05 with sgd, 0.001 with adam and adamw)")
      ->check(number({0, 1000, true}))
      ->each([o](const std::string&) { o->lr_given = true; });
  cmd->add_option("--momentum", c.sgd.momentum, "momentum (sgd)")->capture_default_str()->check(number({0, 0.999}));
  cmd->add_option("--beta1", c.sgd.beta1, "Adam's β1, the decay of the gradient's running mean (adam, adamw)")
      ->capture_default_str()
      ->check(number({0, 1, false, true}));
  cmd->add_option("--beta2", c.sgd.beta2, "Adam's β2, the decay of the squared gradient's running mean (adam, adamw)")
      ->capture_default_str()
      ->check(number({0, 1, false, true}));
  cmd->add_option("--adam-eps", c.sgd.eps, "Adam's ε, added to √v̂ (adam, adamw)")
      ->capture_default_str()
      ->check(number({0, 1, true}));
  cmd->add_option("--weight-decay", c.sgd.weight_decay, "weight decay (of weights, not biases)")
      ->capture_default_str()
      ->check(number({0, 1}));
  cmd->add_option("--schedule", o->schedule, "constant, step or cosine")->capture_default_str()->check(schedule_spec());
  cmd->add_option("--warmup-steps", c.sgd.warmup_steps,
                  "steps of linear warm-up (lr·(t+1)/N at step t < N) before the schedule, which then runs over the "
                  "remaining steps")
      ->capture_default_str()
      ->check(whole(0, int64_t{1} << 40));
  cmd->add_option("--clip-norm", c.sgd.clip_norm,
                  "scale each step's gradients to at most this global 2-norm (over all parameters; 0: no clipping)")
      ->capture_default_str()
      ->check(number({0, 1e9}));
  cmd->add_option("--seed", c.seed, "seed (initialization and shuffling)")
      ->capture_default_str()
      ->check(whole(0, INT64_MAX));
  cmd->add_option("--prune", o->prune, "none, magnitude:S, global:S (0<S<1) or 2:4")
      ->capture_default_str()
      ->check(prune_spec());
  cmd->add_option("--prune-at", c.prune.start_epoch, "epoch (0-based) at which pruning starts")
      ->capture_default_str()
      ->check(whole(0, 100000));
  cmd->add_option("--prune-steps", c.prune.steps, "prune gradually over this many epochs")
      ->capture_default_str()
      ->check(whole(1, 1000));
  cmd->add_option("--compress", o->compress,
                  "gradient codec: none, fp16, bf16, int8[:chunk], qsgd:levels[:chunk], terngrad[:chunk], "
                  "sign[:chunk], randomk:ratio, topk:ratio, topk_sampled:ratio, powersgd:rank; under mpirun also "
                  "auto[:error budget] (per bucket)")
      ->capture_default_str()
      ->check(codec_spec(true));
  cmd->add_flag("--error-feedback", c.error_feedback, "keep what the codec drops and add it to the next gradient");
  cmd->add_option("--checkpoint", c.checkpoint_dir, "directory for checkpoints (held by this run alone)")
      ->check(output_dir());
  cmd->add_option("--checkpoint-every", c.checkpoint_every, "steps between checkpoints (0: each epoch)")
      ->capture_default_str()
      ->check(whole(0, int64_t{1} << 40));
  cmd->add_flag("--resume", c.resume, "continue from the checkpoint in --checkpoint");
  cmd->add_flag("--overwrite", c.overwrite_checkpoint,
                "start afresh although --checkpoint holds a checkpoint (it is replaced at the first checkpoint)");
  cmd->add_option("--max-steps", c.max_steps, "stop after this many optimizer steps (with a checkpoint)")
      ->check(whole(1, int64_t{1} << 40));
  cmd->add_option("--metrics", o->metrics, "append per-epoch metrics as JSON lines to this file")->check(output_file());
  cmd->add_option("--plot", o->plot, "write the loss per step and the test accuracy per epoch to this SVG file")
      ->check(output_file());
  CLI::Option* exported = cmd->add_option("--export", o->export_path, "write the trained (pruned) model to this file")
                              ->check(output_file());
  cmd->add_flag("--fold-bn", o->fold_bn,
                "with --export: fold each batch norm into the convolution before it (an inference model with the "
                "same outputs to rounding and no normalization pass; training from it has no batch norm)")
      ->needs(exported);
  cmd->add_option("--train-subset", o->train_subset, "use only the first N training samples")
      ->check(whole(1, int64_t{1} << 31));
  cmd->add_option("--test-subset", o->test_subset, "use only the first N test samples")
      ->check(whole(1, int64_t{1} << 31));
  cmd->add_option("--target-accuracy", o->target_accuracy, "accuracy for the time-to-accuracy figure")
      ->capture_default_str()
      ->check(number({0, 1}));
  cmd->add_option("--sync", o->sync,
                  "under mpirun: allreduce, or ps (parameter server with shards on every rank: push gradients, "
                  "pull weights)")
      ->capture_default_str()
      ->check(CLI::IsMember({"allreduce", "ps"}));
  cmd->add_option("--bucket", o->bucket,
                  "gradient bucket size in MB under mpirun, or auto (chosen from the link's measured latency and "
                  "bandwidth)")
      ->capture_default_str()
      ->check(bucket_spec());
  cmd->add_flag("--balance", o->config.balance,
                "under mpirun: split each step's samples over the ranks in proportion to their measured speed, "
                "re-judged every 10 steps");
  cmd->add_flag(
      "--no-overlap", [o](int64_t) { o->config.overlap = false; },
      "synchronize gradient buckets after backward with blocking collectives, instead of overlapping "
      "them with backward");
  cmd->add_option("--comm-timeout", o->comm_timeout,
                  "seconds a collective may wait for the other ranks before the run fails (under mpirun)")
      ->capture_default_str()
      ->check(number({0.1, 86400}));
  cmd->callback([o] {
    try {
      run(*o);
    } catch (const Error& e) {
      // One rank failed: report it, then end the whole job so no peer waits in a collective.
      if (o->config.comm && o->config.comm->size() > 1) {
        std::fprintf(stderr, "%s (rank %d of %d; ending the job)\n", e.what(), o->config.comm->rank(),
                     o->config.comm->size());
        o->config.comm->abort(1);
      }
      throw;
    }
  });
}

}  // namespace tandem::cli
