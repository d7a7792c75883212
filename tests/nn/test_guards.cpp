// What a run refuses before or instead of doing harm: a diverging run stops with the step and the
// first non-finite parameter, and writes nothing non-finite; models with NaN weights are refused
// at load; one run per checkpoint directory, no fresh run over a checkpoint unless told, and no
// resume on other data.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "../ops/harness.h"
#include "fixtures.h"
#include "tandem/error.h"
#include "tandem/nn/model_file.h"
#include "tandem/nn/trainer.h"
#include "tandem/tandem.h"

namespace tandem::nn {
namespace {

TEST(Divergence, ANonFiniteLossStopsTheRunNamingTheStep) {
  const std::string dir = temp_dir("diverge");
  TrainConfig c = small();
  c.sgd.lr = 1e30f;  // no CLI would take this (--lr is at most 1000); the library must still stop
  c.checkpoint_dir = dir;
  c.checkpoint_every = 1;
  Trainer t(c, train_set(), test_set());
  test::expect_error([&] { t.run(); }, ErrorKind::invalid_argument, {"diverged at step", "lr 1e+30"});
  // Every checkpoint written holds finite values only (the last, if any, is from before).
  if (std::filesystem::exists(dir + "/checkpoint.tdm")) {
    const CheckpointData data = read_checkpoint(dir + "/checkpoint.tdm");
    for (const NamedTensor& n : data.tensors)
      EXPECT_EQ(first_non_finite(n.dtype, n.bytes.data(), n.bytes.size() / dtype_size(n.dtype)), -1) << n.name;
  }
  std::filesystem::remove_all(dir);
}

TEST(Divergence, NonFiniteWeightsAreNeverExportedOrLoaded) {
  const std::string dir = temp_dir("nan-export");
  std::filesystem::create_directories(dir);
  TrainConfig c = small();
  c.epochs = 1;
  Trainer t(c, train_set(), test_set());
  Param* p = t.network().params()[1];
  std::vector<float> poisoned = p->value.to_f32();
  poisoned[3] = std::numeric_limits<float>::quiet_NaN();
  p->value.copy_from_host(poisoned.data());
  test::expect_error([&] { t.export_model(dir + "/m.tdm"); }, {"export", p->name + " (element 3: nan)", "nothing written"});
  EXPECT_FALSE(std::filesystem::exists(dir + "/m.tdm"));
  // Written anyway (as another tool might): the loader names the tensor.
  write_model_file(dir + "/bad.tdm", t.network(), {0, 1});
  test::expect_error([&] { read_model_file(dir + "/bad.tdm"); }, ErrorKind::io,
                     {"bad.tdm", "the weights of " + p->name, "non-finite value at element 3"});
  std::filesystem::remove_all(dir);
}

// The C API loads through the same checks, and names what it refuses.
TEST(Divergence, TheCApiRefusesNonFiniteWeightsAndOverflowingBatches) {
  const std::string dir = temp_dir("capi-nan");
  std::filesystem::create_directories(dir);
  TrainConfig c = small();
  c.epochs = 1;
  c.max_steps = 2;
  Trainer t(c, train_set(), test_set());
  t.run();
  t.export_model(dir + "/good.tdm");
  Param* p = t.network().params()[0];
  std::vector<float> poisoned = p->value.to_f32();
  poisoned[0] = std::numeric_limits<float>::infinity();
  p->value.copy_from_host(poisoned.data());
  write_model_file(dir + "/bad.tdm", t.network(), {0, 1});

  tandem_runtime_options o;
  tandem_runtime_options_init(&o);
  o.devices = "cpu:0";
  tandem_runtime* rt = nullptr;
  ASSERT_EQ(tandem_runtime_create(&o, &rt), TANDEM_OK) << tandem_last_error();
  tandem_model* m = nullptr;
  EXPECT_EQ(tandem_model_load(rt, (dir + "/bad.tdm").c_str(), nullptr, &m), TANDEM_ERROR_IO);
  EXPECT_NE(std::string(tandem_last_error()).find("the weights of " + p->name + " hold a non-finite value"),
            std::string::npos)
      << tandem_last_error();
  ASSERT_EQ(tandem_model_load(rt, (dir + "/good.tdm").c_str(), nullptr, &m), TANDEM_OK) << tandem_last_error();
  // A batch whose element count overflows size_t is the caller's error, not an internal one.
  const float x = 0;
  int32_t cls = 0;
  const size_t huge = std::numeric_limits<size_t>::max() / 4;
  EXPECT_EQ(tandem_model_classify(m, &x, huge, 1, &cls, huge), TANDEM_ERROR_INVALID_ARGUMENT) << tandem_last_error();
  tandem_model_destroy(m);
  tandem_runtime_destroy(rt);
  std::filesystem::remove_all(dir);
}

TEST(CheckpointDirectory, OneRunAtATime) {
  const std::string dir = temp_dir("lock");
  TrainConfig c = small();
  c.checkpoint_dir = dir;
  Trainer holder(c, train_set(), test_set());
  test::expect_error([&] { Trainer second(c, train_set(), test_set()); }, {"in use by another run"});
}

TEST(CheckpointDirectory, AFreshRunDoesNotReplaceACheckpointUnlessTold) {
  const std::string dir = temp_dir("fresh-over");
  TrainConfig c = small();
  c.epochs = 1;
  c.max_steps = 3;
  c.checkpoint_dir = dir;
  Trainer(c, train_set(), test_set()).run();
  ASSERT_TRUE(std::filesystem::exists(dir + "/checkpoint.tdm"));
  const auto before = std::filesystem::last_write_time(dir + "/checkpoint.tdm");
  test::expect_error([&] { Trainer again(c, train_set(), test_set()); }, {"holds a checkpoint", "--resume", "--overwrite"});
  EXPECT_EQ(std::filesystem::last_write_time(dir + "/checkpoint.tdm"), before);
  c.overwrite_checkpoint = true;
  Trainer(c, train_set(), test_set()).run();
  std::filesystem::remove_all(dir);
}

TEST(CheckpointDirectory, ResumeRefusesOtherData) {
  const std::string dir = temp_dir("other-data");
  TrainConfig c = small();
  c.max_steps = 3;
  c.checkpoint_dir = dir;
  Trainer(c, train_set(), test_set()).run();
  c.max_steps = 0;
  c.resume = true;
  const Dataset fewer = head(train_set(), 1024);
  test::expect_error([&] { Trainer t(c, fewer, test_set()); }, ErrorKind::invalid_argument,
                     {"made on train data", "1280 samples", "this run has", "(first 1024)", "1024 samples"});
  Dataset changed = train_set();  // the same size, one label different
  changed.labels[5] = (changed.labels[5] + 1) % 10;
  test::expect_error([&] { Trainer t(c, changed, test_set()); }, {"made on train data", "CRC-32C"});
  Dataset moved = train_set();  // the same data from elsewhere resumes
  moved.source = "/elsewhere/train-images-idx3-ubyte.gz";
  Trainer(c, moved, test_set()).run();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tandem::nn
