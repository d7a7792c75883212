// Buffers, tensors, copies, host access, atomic files and logging.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../ops/harness.h"
#include "tandem/file.h"
#include "tandem/log.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

TEST(Shape, BasicsAndErrors) {
  const Shape s{2, 3, 4};
  EXPECT_EQ(s.rank(), 3);
  EXPECT_EQ(s.numel(), 24);
  EXPECT_EQ(s.str(), "[2,3,4]");
  EXPECT_EQ(Shape{}.numel(), 1);
  EXPECT_THROW((Shape{1, 2, 3, 4, 5, 6, 7}), Error);
  EXPECT_THROW((Shape{int64_t{1} << 40, int64_t{1} << 40}), Error);  // element count overflows
  test::expect_error([] { Shape{4, -1}; }, {"dimension 1 is negative"});
}

TEST(Tensor, RoundTripAndCopy) {
  const Device cpu = cpu_device();
  const std::vector<float> v{1, 2, 3, 4, 5, 6};
  Tensor a = Tensor::from_vector(cpu, {2, 3}, v);
  EXPECT_EQ(a.to_vector<float>(), v);
  EXPECT_EQ(a.str(), "f32[2,3] on cpu:0");
  Tensor b = Tensor::zeros(cpu, {3, 2});
  EXPECT_EQ(b.to_vector<float>(), std::vector<float>(6, 0.0f));
  copy(a, b);
  EXPECT_EQ(b.to_vector<float>(), v);
  EXPECT_EQ(b.reshape({6}).shape(), (Shape{6}));
  EXPECT_THROW(b.reshape({4}), Error);
}

TEST(Tensor, ViewsMustFitTheirBuffer) {
  Buffer buf = Buffer::allocate(cpu_device(), 64);
  Tensor t(buf, {4, 2}, DType::f32, 32);
  EXPECT_EQ(t.data(), static_cast<char*>(buf.data()) + 32);
  EXPECT_THROW(Tensor(buf, {4, 2}, DType::f32, 40), Error);
}

TEST(Tensor, HostAccessChecksTheElementType) {
  Tensor t = Tensor::zeros(cpu_device(), {3}, DType::i32);
  EXPECT_NO_THROW(t.host_data<int32_t>());
  EXPECT_THROW(t.host_data<float>(), Error);
  EXPECT_THROW(t.to_vector<float>(), Error);
  EXPECT_THROW(Tensor::from_vector(cpu_device(), {4}, std::vector<float>{1, 2}), Error);
  EXPECT_THROW(copy(t, Tensor::zeros(cpu_device(), {3}, DType::f32)), Error);
}

TEST(Stream, EventsOnTheCpuAreComplete) {
  Stream s(cpu_device());
  Event e = s.record();
  EXPECT_TRUE(e.ready());
  EXPECT_EQ(e.wait(std::chrono::milliseconds(1)), WaitState::complete);
  s.wait(e);
  s.synchronize();
}

TEST(OpRegistry, CostsAreExact) {
  const Device cpu = cpu_device();
  Tensor a = Tensor::empty(cpu, {8, 16}), b = Tensor::empty(cpu, {16, 4}), c = Tensor::empty(cpu, {8, 4});
  const GemmParams p;
  const OpCost cost = op_cost(cpu, opdesc::gemm, {&a, &b}, {&c}, &p);
  EXPECT_EQ(cost.flops, 2.0 * 8 * 4 * 16);
  EXPECT_EQ(cost.bytes, 4.0 * (8 * 16 + 16 * 4 + 8 * 4));
  Tensor x = Tensor::empty(cpu, {2, 3, 10, 10}), w = Tensor::empty(cpu, {5, 3, 3, 3}),
         y = Tensor::empty(cpu, {2, 5, 8, 8});
  const Conv2dParams cp;
  EXPECT_EQ(op_cost(cpu, opdesc::conv2d_forward, {&x, &w}, {&y}, &cp).flops, 2.0 * 2 * 5 * 8 * 8 * 3 * 3 * 3);
  EXPECT_EQ(&find_op("gemm"), &opdesc::gemm);
  EXPECT_TRUE(cpu.supports(opdesc::conv2d_backward_weights));
}

// The snippet in README.md ("Using it"), kept compiling and running here.
TEST(Readme, UsingItExample) {
  const std::vector<float> data(64 * 784, 0.5f);
  Device dev = find_device("cpu:0");  // or cpu_device()
  Stream s(dev);
  Tensor x = Tensor::from_vector(dev, {64, 784}, data);
  Tensor w = Tensor::empty(dev, {256, 784}), y = Tensor::empty(dev, {64, 256});
  ops::cast(s, Tensor::zeros(dev, {256, 784}), w);  // (not in the README: give w values)
  ops::gemm(s, x, w, y, {.trans_b = true});         // y = x·wᵀ
  ops::relu_forward(s, y, y);
  s.synchronize();
  EXPECT_EQ(y.to_vector<float>(), std::vector<float>(64 * 256, 0.0f));
}

TEST(File, AtomicWriteReplacesWholeFiles) {
  const auto dir = std::filesystem::temp_directory_path() / ("tandem-file-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "out.json").string();
  write_file_atomic(path, "first");
  write_file_atomic(path, "second, longer");
  std::ifstream in(path);
  std::string got((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(got, "second, longer");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1) << "temp file left behind";
  test::expect_error([&] { write_file_atomic((dir / "missing" / "x").string(), "data"); }, ErrorKind::io,
                     {"missing/x"});
  std::filesystem::remove_all(dir);
}

// What a writer killed mid-write leaves (".out.json.XXXXXX") is removed; nothing else is.
TEST(File, AbandonedTemporariesAreRemoved) {
  const auto dir = std::filesystem::temp_directory_path() / ("tandem-file-temps-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "out.json").string();
  write_file_atomic(path, "kept");
  for (const char* name : {".out.json.a1B2c3", ".out.json.Zz9Yy8", ".out.json.long-name", ".other.json.a1B2c3",
                           "out.json.a1B2c3"})
    write_file_atomic((dir / name).string(), "x");
  EXPECT_EQ(remove_abandoned_temporaries(path), 2);
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(dir)) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{".other.json.a1B2c3", ".out.json.long-name", "out.json", "out.json.a1B2c3"}));
  EXPECT_EQ(remove_abandoned_temporaries((dir / "missing" / "x").string()), 0);  // no directory: nothing to do
  std::filesystem::remove_all(dir);
}

// A MemoryAccount charges what is allocated under its scope, releases it when freed (on any
// thread), enforces its limit before allocating, and lets inner scopes take over.
TEST(MemoryAccount, ChargesLimitsAndReleases) {
  const Device cpu = cpu_device();
  MemoryAccount a(4096), b;
  Tensor kept;
  {
    MemoryAccount::Scope in_a(a);
    kept = Tensor::empty(cpu, {256});  // 1 KiB
    EXPECT_EQ(a.used(), 1024u);
    {
      MemoryAccount::Scope in_b(b);
      const Tensor t = Tensor::empty(cpu, {512});
      EXPECT_EQ(b.used(), 2048u);
      EXPECT_EQ(a.used(), 1024u);
    }
    EXPECT_EQ(b.used(), 0u);
    EXPECT_EQ(b.peak(), 2048u);
    test::expect_error([&] { (void)Tensor::empty(cpu, {1024}); }, ErrorKind::out_of_memory,
                       {"4096 bytes more", "limit of 4096 bytes", "1024 held"});
    EXPECT_EQ(a.used(), 1024u);  // the refused allocation left nothing behind
  }
  const Tensor outside = Tensor::empty(cpu, {1000});  // no scope: charged to nobody
  EXPECT_EQ(a.used(), 1024u);
  std::thread([&] { kept = Tensor(); }).join();  // freed on another thread
  EXPECT_EQ(a.used(), 0u);
  EXPECT_EQ(a.peak(), 1024u);
}

TEST(Log, LevelsAndSink) {
  std::vector<std::string> seen;
  set_log_sink([&](LogLevel, std::string_view m) { seen.emplace_back(m); });
  const LogLevel before = log_level();
  set_log_level(LogLevel::info);
  TANDEM_LOG(debug, "hidden");
  TANDEM_LOG(warn, "shown " << 42);
  log_once(LogLevel::warn, "fallback:x", "once");
  log_once(LogLevel::warn, "fallback:x", "once");
  set_log_level(before);
  set_log_sink(nullptr);
  EXPECT_EQ(seen, (std::vector<std::string>{"shown 42", "once"}));
  EXPECT_EQ(parse_log_level("trace"), LogLevel::trace);
  EXPECT_FALSE(parse_log_level("loud").has_value());
}

}  // namespace
}  // namespace tandem
