// Training on a Fashion-MNIST subset: it learns, the optimizer and accumulation match their
// closed forms, pruning masks hold through training and checkpoints, resume is bit-identical.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "../ops/harness.h"
#include "fixtures.h"
#include "tandem/error.h"
#include "tandem/file.h"
#include "tandem/log.h"
#include "tandem/nn/checkpoint.h"
#include "tandem/nn/network.h"
#include "tandem/nn/trainer.h"

namespace tandem::nn {
namespace {

TEST(Training, MlpLearns) {
  Trainer t(small(), train_set(), test_set());
  const double before = t.evaluate();
  const auto stats = t.run();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_LT(stats[1].loss, stats[0].loss);
  EXPECT_LT(stats[1].loss, 0.8);
  EXPECT_GT(stats[1].test_accuracy, 0.70) << "accuracy before training: " << before;
}

TEST(Training, CnnLearns) {
  TrainConfig c = small("cnn");
  c.epochs = 1;
  Trainer t(c, train_set(), test_set());
  const auto stats = t.run();
  expect_loss_fell(t.step_losses());
  EXPECT_GT(stats[0].test_accuracy, 0.55);
}

// With a constant gradient g, momentum μ and no weight decay: v_t = g(1 − μ^t)/(1 − μ) and
// w_t = w_0 − lr Σ_{s≤t} v_s.
TEST(Optimizer, MomentumMatchesClosedForm) {
  const ModelSpec spec = parse_model(R"({"input": [1, 1, 3], "classes": 2, "layers": [{"type": "linear", "out": 2}]})");
  Network net(spec, {cpu_device()});
  net.init(1);
  SgdConfig cfg;
  cfg.momentum = 0.8f;
  cfg.weight_decay = 0;
  Sgd sgd(cfg);
  std::vector<Param*> params = net.params();
  std::vector<const Tensor*> grads;
  std::vector<std::vector<float>> w0, g;
  for (Param* p : params) {
    std::vector<float> gv(static_cast<size_t>(p->value.numel()));
    for (size_t i = 0; i < gv.size(); ++i) gv[i] = 0.1f * static_cast<float>(i + 1);
    p->grad.copy_from_host(gv.data());
    g.push_back(gv);
    w0.push_back(p->value.to_f32());
    grads.push_back(&p->grad);
  }
  const float lr = 0.5f;
  const int steps = 6;
  for (int t = 0; t < steps; ++t) sgd.step(net, params, grads, lr);
  double sum_v = 0;  // Σ_{s=1..T} (1 − μ^s)/(1 − μ)
  for (int s = 1; s <= steps; ++s) sum_v += (1 - std::pow(0.8, s)) / (1 - 0.8);
  for (size_t k = 0; k < params.size(); ++k) {
    const std::vector<float> w = params[k]->value.to_f32();
    for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(w[i], w0[k][i] - lr * g[k][i] * sum_v, 1e-5) << params[k]->name;
  }
}

// Four micro-batches of 8, averaged on the device, give the step of one batch of 32.
TEST(Optimizer, AccumulationEqualsOneLargeBatch) {
  TrainConfig big = small();
  big.max_steps = 1;
  TrainConfig micro = big;
  micro.batch = 8;
  micro.accumulate = 4;
  Trainer a(big, train_set(), test_set()), b(micro, train_set(), test_set());
  a.run();
  b.run();
  ASSERT_EQ(a.step_losses().size(), 1u);
  EXPECT_NEAR(a.step_losses()[0], b.step_losses()[0], 1e-5);
  const auto wa = weights(a), wb = weights(b);
  for (size_t k = 0; k < wa.size(); ++k)
    for (size_t i = 0; i < wa[k].size(); ++i)
      ASSERT_NEAR(wa[k][i], wb[k][i], 1e-6) << "param " << k << " element " << i;
}

TEST(Checkpoint, ResumeIsBitIdentical) {
  const std::string dir = temp_dir("resume");
  TrainConfig c = small();
  Trainer whole(c, train_set(), test_set());
  whole.run();

  c.checkpoint_dir = dir;
  c.checkpoint_every = 5;
  c.max_steps = 53;  // stops inside the second epoch (40 steps per epoch)
  std::vector<float> joined;
  {  // the first run ends (and lets go of the checkpoint directory) before the second starts
    Trainer first(c, train_set(), test_set());
    first.run();
    EXPECT_FALSE(first.finished());
    joined = first.step_losses();
  }
  c.max_steps = 0;
  c.resume = true;
  // What a first run killed while it wrote its checkpoint would have left: the resumed run removes it.
  const std::string abandoned = dir + "/.checkpoint.tdm.Ab12Cd";
  write_file_atomic(abandoned, "half a checkpoint");
  Trainer second(c, train_set(), test_set());
  EXPECT_FALSE(std::filesystem::exists(abandoned));
  second.run();
  EXPECT_TRUE(second.finished());

  joined.insert(joined.end(), second.step_losses().begin(), second.step_losses().end());
  ASSERT_EQ(joined.size(), whole.step_losses().size());
  for (size_t i = 0; i < joined.size(); ++i) ASSERT_EQ(joined[i], whole.step_losses()[i]) << "step " << i;
  EXPECT_EQ(weights(second), weights(whole));
  std::filesystem::remove_all(dir);
}

// A run stopped inside its second epoch and resumed equals one run, bit for bit: losses,
// weights and buffers (running statistics), with AdamW's moments and step count checkpointed.
// (On the first 256 and 64 Fashion-MNIST samples, or on the data given: 256 samples.)
void expect_adamw_resume_is_bit_identical(const std::string& model, const std::string& tag,
                                          const std::pair<Dataset, Dataset>* data = nullptr) {
  const Dataset train = head(data ? data->first : train_set(), 256), test = head(data ? data->second : test_set(), 64);
  const std::string dir = temp_dir("resume-" + tag);
  TrainConfig c = small(model);
  c.sgd.kind = OptimizerKind::adamw;
  c.sgd.lr = 1e-3f;
  c.sgd.weight_decay = 0.05f;
  c.sgd.warmup_steps = 3;
  c.sgd.clip_norm = 5.0f;
  Trainer whole(c, train, test);
  whole.run();
  c.checkpoint_dir = dir;
  c.checkpoint_every = 4;
  c.max_steps = 12;  // inside the second epoch (8 steps per epoch)
  std::vector<float> joined;
  {
    Trainer first(c, train, test);
    first.run();
    joined = first.step_losses();
  }
  c.max_steps = 0;
  c.resume = true;
  Trainer second(c, train, test);
  second.run();
  joined.insert(joined.end(), second.step_losses().begin(), second.step_losses().end());
  ASSERT_EQ(joined.size(), whole.step_losses().size());
  for (size_t i = 0; i < joined.size(); ++i) ASSERT_EQ(joined[i], whole.step_losses()[i]) << "step " << i;
  EXPECT_EQ(weights(second), weights(whole));
  std::vector<std::vector<float>> a, b;
  for (Param* p : whole.network().buffers()) a.push_back(p->value.to_f32());
  for (Param* p : second.network().buffers()) b.push_back(p->value.to_f32());
  EXPECT_EQ(a, b) << "running statistics";
  if (!a.empty()) {
    EXPECT_NE(a.front(), std::vector<float>(a.front().size(), 0.0f)) << "the running means never moved";
  }
  std::filesystem::remove_all(dir);
}

// The graph model with batch norm (its running statistics are checkpointed buffers).
TEST(Checkpoint, ResNet20WithAdamWResumesBitIdentically) {
  expect_adamw_resume_is_bit_identical("resnet20", "resnet");
}

// A transformer (tests/data/tiny_vit.json: attention, layer norm, GELU, class token and positions).
TEST(Checkpoint, TransformerWithAdamWResumesBitIdentically) {
  expect_adamw_resume_is_bit_identical(std::string(TANDEM_SOURCE_DIR) + "/tests/data/tiny_vit.json", "vit");
}

// A masked-token encoder: each epoch masks afresh, so the resumed epoch must mask as the whole run did.
TEST(Checkpoint, MaskedTokenEncoderResumesBitIdentically) {
  const TokenCorpus c = synthetic_tokens(300 * 16, 13, 5);
  const auto data = token_datasets(c, 16, 0.1);
  expect_adamw_resume_is_bit_identical("encoder:vocab=13,seq=16,width=16,layers=1,heads=2,mlp=32", "encoder", &data);
}

TEST(Compression, SignWithErrorFeedbackTrains) {
  TrainConfig c = small();
  c.epochs = 1;
  c.compress = compression::parse_codec("sign");
  c.error_feedback = true;
  Trainer t(c, train_set(), test_set());
  const auto stats = t.run();
  EXPECT_GT(stats[0].compression_ratio, 20.0);  // 32× on the weights, less on small biases
  EXPECT_GT(stats[0].test_accuracy, 0.6);
  c.error_feedback = true;
  c.compress = {};
  EXPECT_THROW(Trainer(c, train_set(), test_set()), Error);  // feedback without a codec
}

// Stochastic codecs draw from (seed, step, parameter) and error-feedback residuals are
// checkpointed, so a compressed run resumes bit for bit too.
TEST(Compression, ResumeIsBitIdentical) {
  const std::string dir = temp_dir("resume-compressed");
  TrainConfig c = small();
  c.epochs = 1;
  c.compress = compression::parse_codec("qsgd:8");
  c.error_feedback = true;
  Trainer whole(c, train_set(), test_set());
  whole.run();
  c.checkpoint_dir = dir;
  c.max_steps = 17;
  std::vector<float> joined;
  {
    Trainer first(c, train_set(), test_set());
    first.run();
    joined = first.step_losses();
  }
  c.max_steps = 0;
  c.resume = true;
  Trainer second(c, train_set(), test_set());
  second.run();
  joined.insert(joined.end(), second.step_losses().begin(), second.step_losses().end());
  ASSERT_EQ(joined, whole.step_losses());
  EXPECT_EQ(weights(second), weights(whole));
  std::filesystem::remove_all(dir);
}

TEST(Checkpoint, CorruptOrMismatchedCheckpointsAreClearErrors) {
  const std::string dir = temp_dir("corrupt");
  TrainConfig c = small();
  c.epochs = 1;
  c.checkpoint_dir = dir;
  c.checkpoint_every = 10;
  Trainer(c, train_set(), test_set()).run();
  const std::string path = dir + "/checkpoint.tdm";
  ASSERT_TRUE(std::filesystem::exists(dir + "/checkpoint.prev.tdm"));

  c.resume = true;
  auto expect_resume_error = [&](const TrainConfig& cfg, const std::string& fragment) {
    test::expect_error([&] { Trainer t(cfg, train_set(), test_set()); }, {fragment});
  };
  TrainConfig other = c;
  other.batch = 64;
  expect_resume_error(other, "was made with batch = 32");

  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x40;
  std::ofstream(path, std::ios::binary) << flipped;
  expect_resume_error(c, "checksum mismatch");
  expect_resume_error(c, "checkpoint.prev.tdm is intact");
  std::ofstream(path, std::ios::binary) << bytes.substr(0, 10);
  expect_resume_error(c, "too short");
  std::ofstream(path, std::ios::binary) << "XXXXXXXX" + bytes.substr(8);
  expect_resume_error(c, "bad magic");
  std::filesystem::remove_all(dir);
}

// Everything a resume takes from a checkpoint is checked before it takes any of it (found while
// writing runtime/fuzz/fuzz_checkpoint.cpp): a negative step_in_epoch indexed before the epoch's
// sample order, a non-string "kind" or a config without a key escaped as JSON library
// exceptions, a float in an integer field was cast (undefined when out of range), and a residual
// of another shape failed only mid-run. Each is now an Error naming the field.
TEST(Checkpoint, ResumeChecksEveryFieldItReads) {
  const std::string dir = temp_dir("crafted");
  TrainConfig c = small();
  c.epochs = 1;
  c.compress = compression::parse_codec("topk:0.1");
  c.error_feedback = true;
  c.checkpoint_dir = dir;
  c.max_steps = 3;
  Trainer(c, train_set(), test_set()).run();
  const std::string path = dir + "/checkpoint.tdm";
  const CheckpointData good = read_checkpoint(path);
  c.max_steps = 0;
  c.resume = true;
  const auto refused = [&](const std::function<void(nlohmann::json&, CheckpointData&)>& edit,
                           const std::string& fragment) {
    CheckpointData d = good;
    nlohmann::json h = nlohmann::json::parse(d.header_json);
    edit(h, d);
    d.header_json = h.dump();
    write_checkpoint(path, d);
    test::expect_error([&] { Trainer t(c, train_set(), test_set()); }, ErrorKind::invalid_argument, {fragment});
  };
  using J = nlohmann::json;
  using D = CheckpointData;
  refused([](J& h, D&) { h["state"]["step_in_epoch"] = -1; }, "step_in_epoch = -1 is not an integer in [0, 40]");
  refused([](J& h, D&) { h["state"]["step_in_epoch"] = 41; }, "step_in_epoch = 41 is not an integer in [0, 40]");
  refused([](J& h, D&) { h["state"]["epoch"] = 2; }, "state epoch = 2 is not an integer in [0, 1]");
  refused([](J& h, D&) { h["state"]["epoch"] = 1e300; }, "state epoch = 1e+300 is not an integer");
  refused([](J& h, D&) { h["state"]["step"] = "3"; }, "state step = \"3\" is not an integer");
  refused([](J& h, D&) { h["state"]["step"] = 18446744073709551615u; }, "state step = 18446744073709551615 is not");
  refused([](J& h, D&) { h["state"]["shares"] = {-1e300}; }, "state shares = [-1e+300] is not a list of integers");
  refused([](J& h, D&) { h["data"]["train"]["count"] = 1e300; }, "its data fingerprint is malformed");
  refused([](J& h, D&) { h["data"]["train"]["crc32c"] = 1ll << 40; }, "its data fingerprint is malformed");
  refused([](J& h, D&) { h["state"]["epoch_loss_sum"] = nullptr; }, "epoch_loss_sum = null is not a finite number");
  refused([](J& h, D&) { h["state"]["epoch_loss_sums"] = {1.0, 2.0}; }, "is not a list of one sum per rank (1)");
  refused([](J& h, D&) { h["state"]["epoch_loss_sums"] = {"x"}; }, "epoch_loss_sums = [\"x\"] is not a list of finite");
  refused([](J& h, D&) { h["state"]["prune_steps_done"] = 1; }, "prune_steps_done = 1 is not an integer in [0, 0]");
  refused([](J& h, D&) { h["state"]["shares"] = {7}; }, "state shares: shares must sum to the 32 samples");
  refused([](J& h, D&) { h["state"].erase("epoch"); }, "\"state\" lacks \"epoch\"");
  refused([](J& h, D&) { h.erase("state"); }, "lacks its \"state\"");
  refused([](J& h, D&) { h["kind"] = 5; }, "is not a training checkpoint");
  refused([](J& h, D&) { h["config"].erase("lr"); }, "its config lacks \"lr\"");
  refused([](J& h, D&) { h["config"] = "mlp"; }, "lacks its \"config\"");
  refused(
      [](J&, D& d) {
        for (NamedTensor& t : d.tensors)
          if (t.name == "residual:r0:0") t.shape = Shape{t.shape.numel()};
      },
      "tensor residual:r0:0 is f32[200704], this run keeps f32[256,784]");
  refused(
      [](J&, D& d) {
        for (NamedTensor& t : d.tensors)
          if (t.name == "velocity:fc2.weight") t.shape = Shape{t.shape.numel()};
      },
      "tensor velocity:fc2.weight is f32[32768], the model needs f32[128,256]");
  // A refused checkpoint left nothing half-taken: the untouched one still resumes and finishes.
  write_checkpoint(path, good);
  Trainer resumed(c, train_set(), test_set());
  resumed.run();
  EXPECT_TRUE(resumed.finished());
  std::filesystem::remove_all(dir);
}

TEST(Pruning, MasksHoldThroughTrainingAndCheckpoints) {
  const std::string dir = temp_dir("prune");
  TrainConfig c = small();
  c.epochs = 3;
  c.prune = parse_prune("magnitude:0.7");
  c.prune.start_epoch = 1;
  c.prune.steps = 2;  // 0.7·(1 − 0.5³) at epoch 1, then 0.7 at epoch 2
  c.checkpoint_dir = dir;
  Trainer t(c, train_set(), test_set());
  t.run();
  ASSERT_EQ(t.prune_events().size(), 2u);
  EXPECT_NEAR(t.prune_events()[0].target, 0.7 * (1 - 0.125), 1e-6);
  for (Param* p : t.network().params()) {
    if (!p->prunable) continue;
    ASSERT_TRUE(p->mask) << p->name;
    EXPECT_NEAR(sparsity(*p), 0.7, 0.002) << p->name;
    const auto w = p->value.to_f32(), m = p->mask.to_f32();
    for (size_t i = 0; i < w.size(); ++i)
      if (m[i] == 0.0f) {
        ASSERT_EQ(w[i], 0.0f) << p->name << " element " << i << " revived";
      }
  }
  const CheckpointData ck = read_checkpoint(dir + "/checkpoint.tdm");
  for (Param* p : t.network().params())
    if (p->prunable) {
      const NamedTensor* m = ck.find("mask:" + p->name);
      ASSERT_NE(m, nullptr);
      ASSERT_EQ(m->bytes.size(), p->mask.nbytes());
    }
  const std::string exported = dir + "/model.tdm";
  t.export_model(exported);
  const CheckpointData model = read_checkpoint(exported);
  EXPECT_EQ(nlohmann::json::parse(model.header_json)["kind"], "model");
  EXPECT_NE(model.find("param:fc1.weight"), nullptr);
  std::filesystem::remove_all(dir);
}

TEST(Pruning, TwoFourKeepsTwoOfEveryFour) {
  TrainConfig c = small("cnn");
  c.epochs = 1;
  c.prune = parse_prune("2:4");
  Trainer t(c, train_set(), test_set());
  std::vector<std::string> said;
  set_log_sink([&](LogLevel, std::string_view m) { said.emplace_back(m); });
  t.run();
  set_log_sink(nullptr);
  // The weight left dense is named, not skipped in silence.
  EXPECT_NE(std::find(said.begin(), said.end(),
                      "2:4 leaves conv1.weight dense: each output has 9 inputs, not a multiple of the 4 that 2:4 groups"),
            said.end());
  for (Param* p : t.network().params()) {
    if (!p->prunable) continue;
    const int64_t row = p->value.numel() / p->value.shape()[0];
    const auto w = p->value.to_f32();
    if (row % 4 != 0) {  // conv1: 9 inputs per output, left dense
      EXPECT_FALSE(p->mask) << p->name;
      continue;
    }
    for (size_t g = 0; g < w.size(); g += 4) {
      int zeros = 0;
      for (size_t i = g; i < g + 4; ++i) zeros += w[i] == 0.0f;
      ASSERT_GE(zeros, 2) << p->name << " group " << g / 4;
    }
  }
  EXPECT_THROW(parse_prune("magnitude:1.5"), Error);
  EXPECT_THROW(parse_prune("random"), Error);
}

TEST(Training, BadConfigurations) {
  TrainConfig c = small();
  c.batch = 5000;  // more than the subset
  EXPECT_THROW(Trainer(c, train_set(), test_set()), Error);
  c = small();
  c.prune = parse_prune("global:0.5");
  c.prune.start_epoch = 2;  // epoch 2 of 2 does not exist
  EXPECT_THROW(Trainer(c, train_set(), test_set()), Error);
  c = small();
  c.resume = true;  // without a checkpoint directory
  EXPECT_THROW(Trainer(c, train_set(), test_set()), Error);
}

}  // namespace
}  // namespace tandem::nn

namespace tandem::nn {
namespace {

// The multi-device executor: the CNN's layers spread over every registered device (cpu, and
// opencl and fpga-sim where present; each layer on the first device after its turn that holds
// all its ops), activations and gradients copied at each boundary. A few SGD steps reach the
// weights of the CPU-only run within f32 tolerance.
// Layers spread round-robin over every device that can hold them train to the CPU-only weights:
// the transfers at device boundaries (forward and backward, through a residual merge too) are exact.
void expect_spread_equals_cpu(const std::string& model) {
  const ModelSpec spec = load_model(model);
  const std::vector<Device> all = devices();
  std::vector<Device> placement;
  std::set<std::string> used;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    Device chosen = cpu_device();
    for (size_t k = 0; k < all.size(); ++k) {
      const Device& d = all[(i + k) % all.size()];
      if (missing_op(spec, i, d) == nullptr) {
        chosen = d;
        break;
      }
    }
    placement.push_back(chosen);
    used.insert(chosen.id());
  }
  if (used.size() < 2) GTEST_SKIP() << "only one device can hold the layers of " << spec.name << " here";
  TrainConfig c = small(model);
  c.epochs = 1;
  c.max_steps = 4;
  Trainer cpu_only(c, train_set(), test_set());
  cpu_only.run();
  c.placement = placement;
  Trainer spread(c, train_set(), test_set());
  spread.run();
  const auto want = weights(cpu_only), got = weights(spread);
  std::string where;
  for (const std::string& id : used) where += id + " ";
  for (size_t i = 0; i < want.size(); ++i)
    test::expect_close(got[i], want[i], 1e-4, 1e-3, spec.name + " parameter " + std::to_string(i) + " over " + where);
  EXPECT_NEAR(spread.step_losses().back(), cpu_only.step_losses().back(), 1e-4);
}

std::string residual_model();

TEST(Executor, LayersSpreadOverDevicesEqualTheCpuOnlyRun) { expect_spread_equals_cpu("cnn"); }
TEST(Executor, ResidualLayersSpreadOverDevicesEqualTheCpuOnlyRun) { expect_spread_equals_cpu(residual_model()); }

// Two residual blocks with a projection-free shortcut, written as a graph.
std::string residual_model() {
  const std::string path = temp_dir("residual") + ".json";
  write_file_atomic(path, R"({"format": "tandem-graph", "version": 2, "name": "residual", "input": [1, 28, 28],
    "classes": 10, "nodes": [
    {"name": "stem", "op": "conv2d", "inputs": ["input"], "out_channels": 8, "kernel": 3, "pad": 1, "stride": 2},
    {"name": "stem.relu", "op": "relu", "inputs": ["stem"]},
    {"name": "b1.conv1", "op": "conv2d", "inputs": ["stem.relu"], "out_channels": 8, "kernel": 3, "pad": 1},
    {"name": "b1.relu1", "op": "relu", "inputs": ["b1.conv1"]},
    {"name": "b1.conv2", "op": "conv2d", "inputs": ["b1.relu1"], "out_channels": 8, "kernel": 3, "pad": 1},
    {"name": "b1.add", "op": "add", "inputs": ["b1.conv2", "stem.relu"]},
    {"name": "b1.relu2", "op": "relu", "inputs": ["b1.add"]},
    {"name": "pool", "op": "maxpool2d", "inputs": ["b1.relu2"], "kernel": 2},
    {"name": "fc", "op": "linear", "inputs": ["pool"], "out": 10}]})");
  return path;
}

TEST(Graph, ResidualModelLearnsAndPlansLessMemoryThanItsValues) {
  TrainConfig c = small(residual_model());
  c.epochs = 1;
  Trainer t(c, train_set(), test_set());
  const auto stats = t.run();
  expect_loss_fell(t.step_losses());
  EXPECT_GT(stats[0].test_accuracy, 0.55);
  // The training graph's plan (the last pass was an evaluation's).
  Network& net = t.network();
  net.forward(Tensor::zeros(cpu_device(), {32, 1, 28, 28}));
  net.backward(Tensor::zeros(cpu_device(), {32}, DType::i32));
  const graph::MemoryPlan& plan = net.memory_plan();
  EXPECT_LT(plan.bytes(cpu_device()), 0.8 * plan.unplanned_bytes(net.graph(), cpu_device()));
}

// Every parameter's gradient from the derived backward pass against central differences of the
// loss, through Network on the CPU.
TEST(Graph, ResidualNetworkGradientsMatchDifferences) {
  const ModelSpec spec = load_model(residual_model());
  Network net(spec, {cpu_device()});
  net.init(3);
  std::vector<float> xs(4 * 784);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>((i * 7919) % 255) / 255.0f;
  const Tensor x = Tensor::from_vector(cpu_device(), {4, 1, 28, 28}, xs);
  const Tensor labels = Tensor::from_vector(cpu_device(), {4}, std::vector<int32_t>{1, 4, 7, 9});
  net.forward(x);
  net.backward(labels);
  auto loss = [&] {
    net.forward(x);
    return net.backward(labels);
  };
  expect_gradients_match_differences(net, loss, 12);  // a dozen elements each
}

}  // namespace
}  // namespace tandem::nn
