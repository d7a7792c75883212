// Fault injection (tandem/fault.h): every injected failure (a device allocation, a kernel launch,
// a copy, a collective, a file write) surfaces as a clear Error or a reported fallback, leaves no
// device memory behind, and never corrupts a checkpoint: a run resumed from the last checkpoint
// ends exactly where a run without faults does.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "../ops/harness.h"
#include "tandem/fault.h"
#include "tandem/log.h"
#include "tandem/nn/checkpoint.h"
#include "tandem/nn/data.h"
#include "tandem/nn/trainer.h"
#include "tandem/ops.h"
#include "tandem/stream.h"
#include "tandem/tandem.h"

namespace tandem {
namespace {

using test::expect_error;

TEST(FaultSpec, BadSpecsNameTheBadPart) {
  expect_error([] { faults::arm("lanch=3"); }, ErrorKind::invalid_argument, {"TANDEM_FAULTS", "unknown site 'lanch'"});
  expect_error([] { faults::arm("launch"); }, ErrorKind::invalid_argument, {"'launch'", "no '=N'"});
  expect_error([] { faults::arm("alloc=0"); }, ErrorKind::invalid_argument, {"count must be a number from 1"});
  expect_error([] { faults::arm("copy=x+"); }, ErrorKind::invalid_argument, {"count must be a number"});
  expect_error([] { faults::arm("alloc@=1"); }, ErrorKind::invalid_argument, {"empty target"});
  expect_error([] { faults::arm("rank=one,alloc=1"); }, ErrorKind::invalid_argument, {"rank must be a number"});
  // A bad spec arms nothing.
  EXPECT_NO_THROW(Tensor::empty(cpu_device(), {4}, DType::f32));
}

TEST(FaultSpec, CountsOnlyMatchingEvents) {
  const Device cpu = cpu_device();
  {
    faults::Scoped armed("alloc@cpu:0=3");
    Tensor a = Tensor::empty(cpu, {4}, DType::f32), b = Tensor::empty(cpu, {4}, DType::f32);
    expect_error([&] { Tensor::empty(cpu, {4}, DType::f32); }, ErrorKind::out_of_memory,
                 {"cpu:0 allocate: allocation failed (fault injected by TANDEM_FAULTS alloc@cpu:0=3)"});
    EXPECT_NO_THROW(Tensor::empty(cpu, {4}, DType::f32));  // only the third
  }
  {
    faults::Scoped armed("alloc@nosuch:0=1+,copy@copy to host=2+");
    Tensor a = Tensor::empty(cpu, {4}, DType::f32);  // another device's rule
    std::vector<float> host(4);
    a.copy_to_host(host.data());
    expect_error([&] { a.copy_to_host(host.data()); }, ErrorKind::device, {"copy to host: copy failed"});
    expect_error([&] { a.copy_to_host(host.data()); }, ErrorKind::device, {"copy to host"});  // '+': onward
    EXPECT_NO_THROW(a.copy_from_host(host.data()));                                           // another operation
  }
  {
    faults::Scoped armed("launch@relu*=1");
    Stream s(cpu);
    Tensor x = Tensor::zeros(cpu, {8}, DType::f32), y = Tensor::zeros(cpu, {8}, DType::f32);
    EXPECT_NO_THROW(ops::fill(s, x, 1.0f));
    expect_error([&] { ops::relu_forward(s, x, y); }, ErrorKind::device,
                 {"cpu:0 relu_forward: kernel launch failed (fault injected"});
  }
  {
    // rank=R scopes a spec to one process of a launcher; outside mpirun no process has a rank.
    faults::Scoped armed("rank=0,alloc=1+");
    EXPECT_NO_THROW(Tensor::empty(cpu, {4}, DType::f32));
  }
  EXPECT_NO_THROW(Tensor::empty(cpu, {4}, DType::f32));  // disarmed again
}

// On every device: a failed allocation, copy or launch is an Error naming the device, holds no
// memory afterwards, and leaves the device working (the next call succeeds, with right values).
class FaultsOnDevice : public ::testing::TestWithParam<std::string> {};

TEST_P(FaultsOnDevice, FailuresAreClearAndLeaveNothingBehind) {
  const Device d = find_device(GetParam());
  const uint64_t before = d.memory_in_use();
  {
    Stream s(d);
    const std::vector<float> values{-2, -1, 0, 1, 2, 3};
    Tensor x = Tensor::from_host(d, {6}, DType::f32, values.data());
    Tensor y = Tensor::zeros(d, {6}, DType::f32);
    EXPECT_GT(d.memory_in_use(), before);
    {
      faults::Scoped armed("alloc@" + d.id() + "=1");
      expect_error([&] { Tensor::empty(d, {1 << 20}, DType::f32); }, ErrorKind::out_of_memory,
                   {d.id(), "allocation failed", "injected"});
    }
    {
      faults::Scoped armed("copy@" + d.id() + "=1");
      expect_error([&] { Tensor::from_host(d, {6}, DType::f32, values.data()); }, ErrorKind::device,
                   {d.id(), "copy from host: copy failed"});
    }
    {
      faults::Scoped armed("launch@" + d.id() + "=1");
      expect_error([&] { ops::relu_forward(s, x, y); }, ErrorKind::device, {d.id(), "relu_forward", "injected"});
    }
    ops::relu_forward(s, x, y);
    s.synchronize();
    EXPECT_EQ(y.to_f32(), (std::vector<float>{0, 0, 0, 1, 2, 3}));
  }
  EXPECT_EQ(d.memory_in_use(), before) << "bytes still held on " << d.id();
}

INSTANTIATE_TEST_SUITE_P(AllDevices, FaultsOnDevice, ::testing::ValuesIn(test::device_ids()),
                         [](const auto& info) { return test::param_name(info.param); });

// ---- Training -------------------------------------------------------------------------------

const nn::Dataset& train_set() {
  static const nn::Dataset d = nn::head(nn::load_mnist(nn::default_fashion_mnist_dir, "train"), 640);
  return d;
}
const nn::Dataset& test_set() {
  static const nn::Dataset d = nn::head(nn::load_mnist(nn::default_fashion_mnist_dir, "t10k"), 200);
  return d;
}

// 20 steps, checkpointed every 4; top-k with error feedback, so residuals and the codec's path
// (through the one-rank communicator) are part of what must survive.
nn::TrainConfig config() {
  nn::TrainConfig c;
  c.model = "mlp";
  c.epochs = 1;
  c.batch = 32;
  c.sgd.lr = 0.05f;
  c.seed = 11;
  c.compress = compression::parse_codec("topk:0.05");
  c.error_feedback = true;
  c.checkpoint_every = 4;
  return c;
}

std::vector<std::vector<float>> weights(nn::Trainer& t) {
  std::vector<std::vector<float>> out;
  for (nn::Param* p : t.network().params()) out.push_back(p->value.to_f32());
  return out;
}

const std::vector<std::vector<float>>& unfaulted_weights() {
  static const std::vector<std::vector<float>> w = [] {
    nn::Trainer t(config(), train_set(), test_set());
    t.run();
    return weights(t);
  }();
  return w;
}

struct FaultCase {
  const char* name;
  const char* spec;  // armed after step 9: the fault strikes in step 10, 11 or 12 (12 checkpoints)
  ErrorKind kind;
  std::vector<std::string> fragments;
};

void PrintTo(const FaultCase& f, std::ostream* os) { *os << f.spec; }

class FaultedTraining : public ::testing::TestWithParam<FaultCase> {};

TEST_P(FaultedTraining, StopsWithAClearErrorAndResumesToTheSameResult) {
  const FaultCase& f = GetParam();
  const auto& want = unfaulted_weights();
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("tandem-faults-" + std::string(f.name) + "-" + std::to_string(getpid())))
                              .string();
  std::filesystem::remove_all(dir);
  const uint64_t held = cpu_device().memory_in_use();
  nn::TrainConfig c = config();
  c.checkpoint_dir = dir;
  try {
    nn::Trainer t(c, train_set(), test_set());
    int steps = 0;
    t.run([&](const nn::StepProgress&) {
      if (++steps == 9) faults::arm(f.spec);
    });
    faults::disarm();
    FAIL() << "training finished despite " << f.spec;
  } catch (const Error& e) {
    faults::disarm();
    EXPECT_EQ(e.kind(), f.kind) << e.what();
    for (const std::string& s : f.fragments) EXPECT_NE(std::string(e.what()).find(s), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("fault injected by TANDEM_FAULTS"), std::string::npos) << e.what();
  }
  EXPECT_EQ(cpu_device().memory_in_use(), held) << "the failed trainer left device memory behind";

  // The last checkpoint is whole (its CRC checks), and nothing half-written is left beside it.
  EXPECT_NO_THROW(nn::read_checkpoint(dir + "/checkpoint.tdm"));
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(name == "checkpoint.tdm" || name == "checkpoint.prev.tdm") << "left behind: " << name;
  }
  c.resume = true;
  nn::Trainer resumed(c, train_set(), test_set());
  resumed.run();
  EXPECT_EQ(weights(resumed), want) << "the resumed run ended elsewhere than the unfaulted one";
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Sites, FaultedTraining,
    ::testing::Values(FaultCase{"launch", "launch=3", ErrorKind::device, {"cpu:0", "kernel launch failed"}},
                      FaultCase{"copy", "copy=2", ErrorKind::device, {"copy failed"}},
                      FaultCase{"collective",
                                "collective@allgatherv*=1",
                                ErrorKind::communication,
                                {"rank 0 allgatherv", "collective failed"}},
                      FaultCase{"write", "write@checkpoint.tdm=1", ErrorKind::io, {"checkpoint.tdm", "write failed"}}),
    [](const auto& info) { return std::string(info.param.name); });

// Each allocation a trainer makes while it is built, failed in turn (the first, then the
// second, ... until one build completes): every one is a clear error and leaves nothing held.
TEST(FaultedTraining, EveryAllocationWhileBuildingFailsCleanly) {
  const uint64_t held = cpu_device().memory_in_use();
  int failed = 0;
  for (int n = 1; n < 1000; ++n) {
    const std::string spec = "alloc=" + std::to_string(n);
    faults::Scoped armed(spec);
    try {
      nn::Trainer t(config(), train_set(), test_set());
      break;  // n is past the build's last allocation
    } catch (const Error& e) {
      ++failed;
      EXPECT_EQ(e.kind(), ErrorKind::out_of_memory) << e.what();
      EXPECT_NE(std::string(e.what()).find("allocation failed (fault injected by TANDEM_FAULTS " + spec + ")"),
                std::string::npos)
          << e.what();
    }
    EXPECT_EQ(cpu_device().memory_in_use(), held) << spec;
  }
  EXPECT_GT(failed, 5) << "the build allocated fewer buffers than a trainer needs";
}

// ---- The C API ------------------------------------------------------------------------------

struct Captured {
  std::mutex mutex;
  std::vector<std::string> lines;
};

void capture(tandem_log_level, const char* message, void* user) {
  auto* c = static_cast<Captured*>(user);
  std::lock_guard lock(c->mutex);
  c->lines.emplace_back(message);
}

// An appliance allowed fpga-sim:0 then cpu:0 whose FPGA cannot allocate falls back to the CPU
// and its log says why; a launch failing mid-inference is TANDEM_ERROR_DEVICE with the reason,
// and the model answers the next call as before.
TEST(FaultsInTheCApi, FallbackIsReportedAndAFailedCallLeavesTheModelWorking) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("tandem-faults-capi-" + std::to_string(getpid()) + ".tdm")).string();
  {
    nn::TrainConfig c;
    c.model = "mlp";
    c.epochs = 1;
    c.max_steps = 3;
    nn::Trainer t(c, train_set(), test_set());
    t.run();
    t.export_model(path);
  }
  Captured log;
  tandem_runtime_options o;
  tandem_runtime_options_init(&o);
  o.devices = "fpga-sim:0,cpu:0";
  o.log = capture;
  o.log_user = &log;
  o.log_level = TANDEM_LOG_WARN;
  tandem_runtime* rt = nullptr;
  ASSERT_EQ(tandem_runtime_create(&o, &rt), TANDEM_OK) << tandem_last_error();
  tandem_model* m = nullptr;
  {
    faults::Scoped armed("alloc@fpga-sim:0=1+");
    ASSERT_EQ(tandem_model_load(rt, path.c_str(), nullptr, &m), TANDEM_OK) << tandem_last_error();
  }
  tandem_model_info info{};
  info.struct_size = sizeof info;
  ASSERT_EQ(tandem_model_get_info(m, &info), TANDEM_OK);
  EXPECT_STREQ(info.device, "cpu:0");
  {
    std::lock_guard lock(log.mutex);
    bool reported = false;
    for (const std::string& l : log.lines)
      reported |= l.find("did not load on fpga-sim:0") != std::string::npos &&
                  l.find("fault injected") != std::string::npos && l.find("trying the next") != std::string::npos;
    EXPECT_TRUE(reported) << "no warning names the device passed over";
  }
  const size_t in = static_cast<size_t>(info.input_channels * info.input_height * info.input_width);
  const std::vector<float> x(2 * in, 0.5f);
  std::vector<float> first(2 * static_cast<size_t>(info.classes)), again(first.size());
  ASSERT_EQ(tandem_model_infer(m, x.data(), 2, x.size(), first.data(), first.size()), TANDEM_OK);
  {
    faults::Scoped armed("launch=2");
    EXPECT_EQ(tandem_model_infer(m, x.data(), 2, x.size(), again.data(), again.size()), TANDEM_ERROR_DEVICE);
    EXPECT_NE(std::string(tandem_last_error()).find("kernel launch failed (fault injected"), std::string::npos)
        << tandem_last_error();
  }
  ASSERT_EQ(tandem_model_infer(m, x.data(), 2, x.size(), again.data(), again.size()), TANDEM_OK);
  EXPECT_EQ(again, first);
  tandem_model_destroy(m);
  tandem_runtime_destroy(rt);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace tandem
