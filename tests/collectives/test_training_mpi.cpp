// Data-parallel training on real MPI ranks: 2 ranks with dense gradients reach the same weights
// as 1 process with the doubled batch; ranks with top-k 1% + error feedback learn.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "../ops/harness.h"
#include "tandem/collectives/communicator.h"
#include "tandem/file.h"
#include "tandem/nn/trainer.h"

namespace tandem::nn {
namespace {

const Dataset& train_set() {
  static const Dataset d = head(load_mnist(default_fashion_mnist_dir, "train"), 2560);
  return d;
}
const Dataset& test_set() {
  static const Dataset d = head(load_mnist(default_fashion_mnist_dir, "t10k"), 1000);
  return d;
}

std::vector<std::vector<float>> weights(Trainer& t) {
  std::vector<std::vector<float>> w;
  for (Param* p : t.network().params()) w.push_back(p->value.to_f32());
  return w;
}

// A checkpoint directory under /tmp, emptied by rank 0 before any rank uses it.
std::string empty_checkpoint_dir(collectives::Communicator& comm, const char* name) {
  const std::string dir = (std::filesystem::temp_directory_path() / name).string();
  if (comm.rank() == 0) std::filesystem::remove_all(dir);
  comm.barrier();
  return dir;
}

// One epoch of the MLP, batch 32, with a codec and error feedback.
TrainConfig with_error_feedback(std::shared_ptr<collectives::Communicator> comm, const char* codec) {
  TrainConfig c;
  c.model = "mlp";
  c.epochs = 1;
  c.comm = std::move(comm);
  c.batch = 32;
  c.compress = compression::parse_codec(codec);
  c.error_feedback = true;
  return c;
}

// 15 steps of `model` at a global batch of 64 over the ranks (one allreduce per step, then small
// buckets started while backward runs) against one process with the whole batch.
void expect_ranks_equal_the_doubled_batch(const std::string& model, const Dataset& train = train_set(),
                                          const Dataset& test = test_set()) {
  auto comm = collectives::mpi_world();
  TrainConfig c;
  c.model = model;
  c.epochs = 1;
  c.max_steps = 15;
  c.comm = comm;
  c.batch = 64 / comm->size();
  Trainer ranks(c, train, test);
  ranks.run();
  const auto got = weights(ranks);
  TrainConfig small = c;
  small.bucket_bytes = 64 << 10;
  Trainer bucketed(small, train, test);
  bucketed.run();
  const auto got_bucketed = weights(bucketed);

  TrainConfig single = c;
  single.comm = nullptr;
  single.batch = 64;
  Trainer alone(single, train, test);
  alone.run();
  const auto want = weights(alone);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    test::expect_close(got[i], want[i], 2e-5, 1e-3, model + " parameter " + std::to_string(i) + " after 15 steps");
    test::expect_close(got_bucketed[i], want[i], 2e-5, 1e-3,
                       model + " parameter " + std::to_string(i) + ", 64 KB buckets");
  }
}

TEST(DataParallel, TwoRanksEqualOneProcessWithTheDoubledBatch) { expect_ranks_equal_the_doubled_batch("mlp"); }

// A graph with a residual merge and dropout (its masks keyed by each sample's index in the
// step, so the split over ranks does not change them), fused as the trainer runs it. (Batch
// normalization is left out: each rank's batch statistics are its own, not the whole batch's.)
TEST(DataParallel, ResidualGraphWithDropoutEqualsTheDoubledBatch) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("tandem-residual-" + std::to_string(::getpid()) + ".json")).string();
  write_file_atomic(path, R"({"format": "tandem-graph", "version": 2, "name": "residual", "input": [1, 28, 28],
    "classes": 10, "nodes": [
    {"name": "stem", "op": "conv2d", "inputs": ["input"], "out_channels": 8, "kernel": 3, "pad": 1, "stride": 2},
    {"name": "stem.relu", "op": "relu"},
    {"name": "b1.conv1", "op": "conv2d", "out_channels": 8, "kernel": 3, "pad": 1},
    {"name": "b1.relu1", "op": "relu"},
    {"name": "b1.conv2", "op": "conv2d", "out_channels": 8, "kernel": 3, "pad": 1},
    {"name": "b1.add", "op": "add", "inputs": ["b1.conv2", "stem.relu"]},
    {"name": "b1.relu2", "op": "relu"},
    {"name": "drop", "op": "dropout", "p": 0.25},
    {"name": "pool", "op": "global_avgpool"},
    {"name": "fc", "op": "linear", "out": 10}]})");
  expect_ranks_equal_the_doubled_batch(path);
  std::filesystem::remove(path);
}

// tests/data/tiny_vit.json: the vit's layers at width 16, two blocks of two heads, 7x7 patches
// (attention, layer norm, GELU, the class token and position embedding over ranks).
const std::string tiny_vit = std::string(TANDEM_SOURCE_DIR) + "/tests/data/tiny_vit.json";

TEST(DataParallel, TransformerEqualsTheDoubledBatch) { expect_ranks_equal_the_doubled_batch(tiny_vit); }

// The masked-token encoder: each piece weighs by its masked tokens, so the ranks' mean is the
// whole batch's mean over its masked tokens, exactly.
TEST(DataParallel, MaskedTokenEncoderEqualsTheDoubledBatch) {
  const auto [train, test] = token_datasets(synthetic_tokens(1100 * 16, 23, 3), 16, 0.1);
  expect_ranks_equal_the_doubled_batch("encoder:vocab=23,seq=16,width=16,layers=1,heads=2,mlp=32", train, test);
}

// Compressed gradients (int8 with error feedback) of the transformer over the ranks still learn.
TEST(DataParallel, TransformerWithCompressionLearns) {
  TrainConfig c = with_error_feedback(collectives::mpi_world(), "int8");
  c.model = tiny_vit;
  c.epochs = 2;
  c.sgd.kind = OptimizerKind::adamw;
  c.sgd.lr = 3e-3f;
  Trainer t(c, train_set(), test_set());
  const auto stats = t.run();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_LT(stats[1].loss, stats[0].loss) << "loss must fall";
  EXPECT_GT(stats[1].test_accuracy, 0.3) << "int8 gradients with error feedback still learn";
  EXPECT_GT(stats[1].compression_ratio, 3.0);
}

TEST(DataParallel, TopKWithErrorFeedbackLearns) {
  auto comm = collectives::mpi_world();
  TrainConfig c;
  c.model = "mlp";
  c.epochs = 2;
  c.comm = comm;
  c.batch = 32;
  c.compress = compression::parse_codec("topk:0.01");
  c.error_feedback = true;
  Trainer t(c, train_set(), test_set());
  const auto stats = t.run();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_LT(stats[1].loss, stats[0].loss) << "loss must fall";
  EXPECT_GT(stats[1].test_accuracy, 0.6) << "1% of the gradient with error feedback still learns";
  EXPECT_GT(stats[1].compression_ratio, 20.0);
  EXPECT_EQ(stats[1].ranks, comm->size());
}

// Unequal shares of each step (a fast rank taking more samples), each rank's gradient weighted
// by its share, give the weights of the equal split; with the last piece overlapped when a share
// needs several pieces. --balance moves the split and still learns.
TEST(DataParallel, UnequalSharesEqualTheEqualSplit) {
  auto comm = collectives::mpi_world();
  TrainConfig c;
  c.model = "mlp";
  c.epochs = 1;
  c.max_steps = 6;
  c.comm = comm;
  c.batch = 16;
  c.chunk = 16;
  c.bucket_bytes = 64 << 10;
  Trainer equal(c, train_set(), test_set());
  equal.run();
  TrainConfig skew = c;
  skew.rank_shares.assign(static_cast<size_t>(comm->size()), 8);
  skew.rank_shares[0] = 16 + 8 * (comm->size() - 1);  // rank 0: two pieces; the others 8 samples
  Trainer unequal(skew, train_set(), test_set());
  unequal.run();
  const auto a = weights(equal), b = weights(unequal);
  for (size_t i = 0; i < a.size(); ++i) test::expect_close(b[i], a[i], 2e-5, 1e-3, "parameter " + std::to_string(i));

  TrainConfig balanced = c;
  balanced.balance = true;
  balanced.balance_every = 2;
  balanced.max_steps = 0;
  Trainer t(balanced, train_set(), test_set());
  const auto st = t.run();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].rank_shares.size(), static_cast<size_t>(comm->size()));
  int64_t total = 0;
  for (int64_t n : st[0].rank_shares) total += n;
  EXPECT_EQ(total, 16 * comm->size());
  EXPECT_GT(st[0].test_accuracy, 0.5);
}

// Ranks on unequal devices (rank 0 on the CPU, the others on OpenCL): --balance splits each step
// by their speed, and the weights are those of the all-CPU equal split. The speeds are given
// (rank 0 three times as fast per sample), not measured: on one machine's two cores, PoCL and
// the CPU backend may well run at the same speed, and the test must not depend on that.
TEST(DataParallel, BalancedOverUnequalDevicesMatchesTheCpu) {
  Device cl;
  for (const Device& d : devices())
    if (d.kind() == DeviceKind::opencl) cl = d;
  if (!cl) GTEST_SKIP() << "no OpenCL device";
  auto comm = collectives::mpi_world();
  TrainConfig c;
  c.model = "mlp";
  c.epochs = 1;
  c.comm = comm;
  c.batch = 16;
  c.chunk = 16;
  const Dataset few = head(train_set(), 16 * 8 * comm->size());  // one epoch of 8 steps
  Trainer cpu(c, few, test_set());
  cpu.run();
  TrainConfig mixed = c;
  mixed.placement = {comm->rank() == 0 ? cpu_device() : cl};
  mixed.balance = true;
  mixed.balance_every = 2;
  mixed.balance_timing = [&](double) { return comm->rank() == 0 ? 1e-3 : 3e-3; };
  Trainer t(mixed, few, test_set());
  const auto st = t.run();
  ASSERT_EQ(st.size(), 1u);
  int64_t total = 0;
  for (int64_t n : st[0].rank_shares) total += n;
  EXPECT_EQ(total, 16 * comm->size());
  EXPECT_GT(st[0].rank_shares.front(), st[0].rank_shares.back()) << "the split did not follow the devices' speeds";
  const auto a = weights(cpu), b = weights(t);
  for (size_t i = 0; i < a.size(); ++i) test::expect_close(b[i], a[i], 1e-4, 1e-3, "parameter " + std::to_string(i));
}

// Compressed buckets synchronized while backward runs (two rounds for topk_sampled: sizes,
// then messages) reach the weights of blocking synchronization after backward.
TEST(DataParallel, OverlappedCompressedBucketsEqualBlocking) {
  auto comm = collectives::mpi_world();
  TrainConfig c;
  c.model = "cnn";
  c.epochs = 1;
  c.max_steps = 6;
  c.comm = comm;
  c.batch = 16;
  c.bucket_bytes = 48 << 10;
  c.compress = compression::parse_codec("topk_sampled:0.05");
  c.error_feedback = true;
  Trainer overlapped(c, train_set(), test_set());
  overlapped.run();
  TrainConfig after = c;
  after.overlap = false;
  Trainer blocking(after, train_set(), test_set());
  blocking.run();
  const auto a = weights(overlapped), b = weights(blocking);
  for (size_t i = 0; i < a.size(); ++i) test::expect_close(a[i], b[i], 1e-6, 1e-5, "parameter " + std::to_string(i));
}

// The parameter server (shards on every rank: push = reduce-scatter, SGD on the shard, pull =
// allgather) reaches the same weights as allreduce data parallelism.
TEST(DataParallel, ParameterServerEqualsAllreduce) {
  auto comm = collectives::mpi_world();
  TrainConfig c;
  c.model = "cnn";
  c.epochs = 1;
  c.max_steps = 8;
  c.comm = comm;
  c.batch = 16;
  c.sgd.weight_decay = 1e-3f;
  Trainer ar(c, train_set(), test_set());
  ar.run();
  TrainConfig ps = c;
  ps.sync = TrainConfig::Sync::ps;
  Trainer server(ps, train_set(), test_set());
  server.run();
  const auto a = weights(ar), b = weights(server);
  for (size_t i = 0; i < a.size(); ++i) test::expect_close(b[i], a[i], 1e-5, 1e-4, "parameter " + std::to_string(i));
  TrainConfig bad = ps;
  bad.compress = compression::parse_codec("int8");
  test::expect_error([&] { Trainer(bad, train_set(), test_set()); }, {"--sync ps"});
}

// The parameter server runs the trainer's optimizer: AdamW with warm-up and clipping on the
// shards (Adam's moments sharded, the clipping norm summed over the shards) equals allreduce, and
// a run resumed from its checkpoint (the moments gathered into it) continues it bit for bit.
TEST(DataParallel, ParameterServerAdamWEqualsAllreduce) {
  auto comm = collectives::mpi_world();
  const std::string dir = empty_checkpoint_dir(*comm, "tandem-mpi-ps-adamw");
  TrainConfig c;
  c.model = "mlp";
  c.epochs = 1;
  c.max_steps = 8;
  c.comm = comm;
  c.batch = 16;
  c.sgd.kind = OptimizerKind::adamw;
  c.sgd.lr = 2e-3f;
  c.sgd.weight_decay = 0.01f;
  c.sgd.warmup_steps = 3;
  c.sgd.clip_norm = 0.5f;
  Trainer ar(c, train_set(), test_set());
  ar.run();
  TrainConfig ps = c;
  ps.sync = TrainConfig::Sync::ps;
  Trainer server(ps, train_set(), test_set());
  server.run();
  const auto a = weights(ar), b = weights(server);
  for (size_t i = 0; i < a.size(); ++i) test::expect_close(b[i], a[i], 1e-5, 1e-4, "parameter " + std::to_string(i));
  TrainConfig first = ps;
  first.checkpoint_dir = dir;
  first.max_steps = 5;
  Trainer(first, train_set(), test_set()).run();
  comm->barrier();
  TrainConfig second = first;
  second.max_steps = 8;
  second.resume = true;
  Trainer resumed(second, train_set(), test_set());
  resumed.run();
  const auto r = weights(resumed);
  for (size_t i = 0; i < r.size(); ++i) EXPECT_EQ(r[i], b[i]) << "parameter " << i << " differs after resuming";
}

// --compress auto: every bucket gets a codec within the error budget, the same on every rank,
// and training goes on learning with them.
TEST(DataParallel, CompressAutoChoosesWithinBudgetOnEveryRank) {
  auto comm = collectives::mpi_world();
  TrainConfig c;
  c.model = "mlp";
  c.epochs = 1;
  c.comm = comm;
  c.batch = 32;
  c.bucket_bytes = 128 << 10;
  c.auto_budget = 0.02;
  Trainer t(c, train_set(), test_set());
  const auto stats = t.run();
  const auto& choices = t.codec_choices();
  ASSERT_GT(choices.size(), 1u);
  for (const auto& ch : choices) {
    if (comm->rank() == 0) {
      EXPECT_LE(ch.relative_error, 0.02) << compression::codec_string(ch.spec);
    }
    const std::vector<int64_t> ids = comm->allgather_value(static_cast<int64_t>(ch.spec.codec));
    for (int64_t id : ids) EXPECT_EQ(id, ids[0]) << "ranks chose different codecs";
  }
  EXPECT_GT(stats.back().test_accuracy, 0.6);
  TrainConfig bad = c;
  bad.comm = nullptr;
  test::expect_error([&] { Trainer(bad, train_set(), test_set()); }, {"--compress auto"});
}

// The parameter server with pruning (weights and masks reloaded into the shards), sharded
// momentum gathered into checkpoints, and an fp16 push.
TEST(DataParallel, ParameterServerPrunesResumesAndPushesHalfPrecision) {
  auto comm = collectives::mpi_world();
  const std::string dir = empty_checkpoint_dir(*comm, "tandem-mpi-ps-resume");
  TrainConfig c;
  c.model = "mlp";
  c.epochs = 2;
  c.comm = comm;
  c.batch = 32;
  c.prune = parse_prune("magnitude:0.6");
  c.prune.start_epoch = 1;
  Trainer ar(c, train_set(), test_set());
  ar.run();
  TrainConfig ps = c;
  ps.sync = TrainConfig::Sync::ps;
  Trainer straight(ps, train_set(), test_set());
  straight.run();
  const auto a = weights(ar), b = weights(straight);
  for (size_t i = 0; i < a.size(); ++i) test::expect_close(b[i], a[i], 1e-5, 1e-4, "parameter " + std::to_string(i));
  EXPECT_NEAR(overall_sparsity(straight.network().params()), overall_sparsity(ar.network().params()), 1e-6);

  TrainConfig first = ps;
  first.checkpoint_dir = dir;
  first.max_steps = 2560 / (32 * comm->size()) + 3;  // into the pruned epoch
  Trainer(first, train_set(), test_set()).run();
  comm->barrier();
  TrainConfig second = first;
  second.max_steps = 0;
  second.resume = true;
  Trainer resumed(second, train_set(), test_set());
  resumed.run();
  const auto r = weights(resumed);
  for (size_t i = 0; i < r.size(); ++i) EXPECT_EQ(r[i], b[i]) << "parameter " << i << " differs after resuming";

  TrainConfig half = c;
  half.prune = {};
  half.epochs = 1;
  half.max_steps = 10;
  half.compress = compression::parse_codec("fp16");
  Trainer ar16(half, train_set(), test_set());
  ar16.run();
  half.sync = TrainConfig::Sync::ps;
  Trainer ps16(half, train_set(), test_set());
  ps16.run();
  const auto x = weights(ar16), y = weights(ps16);
  for (size_t i = 0; i < x.size(); ++i)
    test::expect_close(y[i], x[i], 1e-4, 1e-3, "fp16 parameter " + std::to_string(i));
}

// Rank 0 writes the checkpoint with every rank's error-feedback residual; all ranks resume from
// it and continue exactly as an uninterrupted run.
TEST(DataParallel, ResumeWithErrorFeedbackIsExact) {
  auto comm = collectives::mpi_world();
  const std::string dir = empty_checkpoint_dir(*comm, "tandem-mpi-resume");
  TrainConfig c = with_error_feedback(comm, "topk:0.01");
  c.bucket_bytes = 256 << 10;
  c.max_steps = 20;
  Trainer straight(c, train_set(), test_set());
  straight.run();

  TrainConfig first = c;
  first.max_steps = 10;
  first.checkpoint_dir = dir;
  Trainer(first, train_set(), test_set()).run();  // checkpoints at step 10 (and lets go of the directory)
  comm->barrier();
  TrainConfig second = first;
  second.max_steps = 20;
  second.resume = true;
  Trainer resumed(second, train_set(), test_set());
  resumed.run();
  const auto a = weights(straight), b = weights(resumed);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "parameter " << i << " differs after resuming";
}

// An epoch's loss is the mean over the ranks of each rank's own: a run resumed mid-epoch must
// report the same loss as an unbroken one, so each rank gets its own partial sum back (rank 0's
// for all of them made the soak's final loss differ while the model was identical).
TEST(DataParallel, ResumedMidEpochReportsTheUnbrokenEpoch) {
  auto comm = collectives::mpi_world();
  const std::string dir = empty_checkpoint_dir(*comm, "tandem-mpi-resume-loss");
  const TrainConfig c = with_error_feedback(comm, "topk:0.05");
  const std::vector<EpochStats> straight = Trainer(c, train_set(), test_set()).run();

  TrainConfig first = c;
  first.checkpoint_dir = dir;
  first.max_steps = 2560 / (32 * comm->size()) / 2 + 1;  // past the middle of the epoch
  Trainer(first, train_set(), test_set()).run();
  comm->barrier();
  TrainConfig second = first;
  second.max_steps = 0;
  second.resume = true;
  const std::vector<EpochStats> resumed = Trainer(second, train_set(), test_set()).run();
  ASSERT_EQ(straight.size(), 1u);
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].loss, straight[0].loss);
  EXPECT_EQ(resumed[0].test_accuracy, straight[0].test_accuracy);
}

}  // namespace
}  // namespace tandem::nn
