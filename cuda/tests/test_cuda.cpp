// The cuda backend's own behaviour: discovery and props, the memory pool, events, copies, peer
// copies, errors, full-f32 gemm (bit-for-bit edge cases are in test_cuda_bits.cpp). Tests that
// need a GPU skip without one, saying why; the interop checks run everywhere.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <regex>
#include <string>
#include <vector>

#include "cuda_backend.h"
#include "interop.h"
#include "need_cuda.h"
#include "tandem/error.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

using test::cuda_devices;
using test::no_gpu_reason;

template <class F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  return Error(ErrorKind::internal, "", "", "no error thrown");
}

std::vector<float> ramp(size_t n, float scale, float shift) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i) * scale + shift;
  return v;
}

TEST(Cuda, BackendIsListedWithOrWithoutDevices) {
  bool listed = false;
  for (const Backend* b : backends()) listed = listed || b->name() == "cuda";
  EXPECT_TRUE(listed);
  if (cuda_devices().empty()) {
    EXPECT_FALSE(no_gpu_reason().empty());
    EXPECT_EQ(error_of([] { find_device("cuda:0"); }).kind(), ErrorKind::invalid_argument);
  }
}

TEST(Cuda, InteropRejectsOtherDevices) {  // runs without a GPU too
  Stream cpu_stream(cpu_device());
  EXPECT_EQ(error_of([&] { cuda::stream_of(cpu_stream); }).kind(), ErrorKind::invalid_argument);
  EXPECT_EQ(error_of([] { cuda::ordinal_of(cpu_device()); }).kind(), ErrorKind::invalid_argument);
  EXPECT_EQ(error_of([] { cuda::ordinal_of(Device()); }).kind(), ErrorKind::invalid_argument);
  EXPECT_EQ(error_of([] { cuda::pool_stats(cpu_device()); }).kind(), ErrorKind::invalid_argument);
}

TEST(Cuda, DevicesAreListedWithSaneProps) {
  NEED_CUDA(d);
  EXPECT_EQ(d.id(), "cuda:0");
  const DeviceProps& p = d.props();
  EXPECT_FALSE(p.name.empty());
  EXPECT_GT(p.memory_bytes, 0u);
  EXPECT_GE(p.compute_units, 1);
  EXPECT_GT(p.peak_flops_f32, 1e12);
  EXPECT_GE(p.peak_flops_f16, p.peak_flops_f32);
  EXPECT_GT(p.mem_bandwidth, 1e11);
  EXPECT_TRUE(std::regex_match(p.pci_address, std::regex("[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]")))
      << p.pci_address;
  EXPECT_GE(p.numa_node, -1);
  EXPECT_NE(p.driver.find("CUDA runtime"), std::string::npos) << p.driver;
  EXPECT_NE(p.driver.find("cuDNN"), std::string::npos) << p.driver;
  EXPECT_FALSE(p.host_accessible);
  EXPECT_FALSE(p.modeled);
  EXPECT_EQ(find_device("cuda").id(), d.id());
  EXPECT_EQ(cuda::ordinal_of(d), 0);
  Stream s(d);
  EXPECT_NE(cuda::stream_of(s), nullptr);
}

TEST(Cuda, PoolReusesFreedMemory) {
  NEED_CUDA(d);
  constexpr size_t big = size_t{64} << 20;
  const Tensor probe = Tensor::zeros(d, {1});
  probe.to_vector<float>();  // waits for the legacy stream: pending frees are done
  const cuda::PoolStats start = cuda::pool_stats(d);
  uint64_t reserved_after_first = 0;
  Stream s(d);
  for (int i = 0; i < 10; ++i) {
    const Tensor t = Tensor::empty(d, {int64_t(big / 4)});
    ops::fill(s, t, float(i));
    if (i == 0) reserved_after_first = cuda::pool_stats(d).reserved;
  }
  probe.to_vector<float>();
  const cuda::PoolStats end = cuda::pool_stats(d);
  EXPECT_EQ(end.reserved, reserved_after_first) << "freed memory was not reused";
  EXPECT_EQ(end.used, start.used) << "memory still in use after every buffer was dropped";
}

TEST(Cuda, EventsOrderStreams) {
  NEED_CUDA(d);
  Stream s1(d), s2(d);
  const Tensor x = Tensor::from_vector(d, {1 << 20}, std::vector<float>(1 << 20, 1.0f));
  for (int i = 0; i < 8; ++i) ops::scale(s1, 3.0f, x);
  const Event e = s1.record();
  s2.wait(e);
  ops::scale(s2, 2.0f, x);
  s2.synchronize();
  EXPECT_TRUE(e.ready());
  EXPECT_EQ(e.wait(std::chrono::seconds(1)), WaitState::complete);
  EXPECT_EQ(x.to_vector<float>()[12345], 2.0f * 6561.0f);
  if (all_gpus.size() > 1) {  // a stream of another GPU waits on the device, not the host
    Stream s3(all_gpus[1]);
    const Event e1 = s1.record();
    s3.wait(e1);
    s3.synchronize();
    EXPECT_TRUE(e1.ready());
  }
}

TEST(Cuda, CopiesRoundTripThroughViewsAndStaging) {
  NEED_CUDA(d);
  const std::vector<float> v = ramp(1000, 0.5f, -7.0f);
  const Tensor a = Tensor::from_vector(d, {1000}, v);
  EXPECT_EQ(a.to_vector<float>(), v);
  const Buffer big = Buffer::allocate(d, 4096);
  const Tensor view(big, {100}, DType::f32, 64);
  copy(Tensor(a.buffer(), {100}, DType::f32, 40), view);
  EXPECT_EQ(view.to_vector<float>(), std::vector<float>(v.begin() + 10, v.begin() + 110));
  // Overlapping device copy behaves as memmove.
  d.impl()->copy_on_device(a.buffer().memory(), 8, a.buffer().memory(), 0, 400);
  EXPECT_EQ(a.to_vector<float>()[2], v[0]);
  // Pageable host memory larger than the staging buffers (several chunks, an odd tail), and pinned.
  const size_t n = (size_t{9} << 20) / 4 + 3;
  const std::vector<float> w = ramp(n, 1e-3f, 1.0f);
  const Tensor t = Tensor::from_vector(d, {int64_t(n)}, w);
  EXPECT_EQ(t.to_vector<float>(), w);
  float* pinned = nullptr;
  ASSERT_EQ(cudaMallocHost(reinterpret_cast<void**>(&pinned), n * 4), cudaSuccess);
  t.copy_to_host(pinned);
  EXPECT_EQ(std::memcmp(pinned, w.data(), n * 4), 0);
  cudaFreeHost(pinned);
  // Host reads see work queued on a stream without an explicit synchronize, as on the CPU.
  Stream s(d);
  ops::scale(s, 2.0f, t);
  EXPECT_EQ(t.to_vector<float>()[n - 1], w[n - 1] * 2.0f);
  EXPECT_EQ(Tensor::zeros(d, {7}, DType::i32).to_vector<int32_t>(), std::vector<int32_t>(7, 0));
}

TEST(Cuda, PeerCopiesBetweenGpus) {
  NEED_CUDA(d);
  if (all_gpus.size() < 2) GTEST_SKIP() << "needs 2 CUDA GPUs, found " << all_gpus.size();
  const std::vector<float> v = ramp(1 << 20, 0.25f, 3.0f);
  const Tensor a = Tensor::from_vector(d, {1 << 20}, v), b = Tensor::empty(all_gpus[1], {1 << 20});
  cuda::copy_peer(a, b);
  EXPECT_EQ(b.to_vector<float>(), v);
  std::printf("peer access cuda:0 -> cuda:1: %s\n", cuda::peer_access(d, all_gpus[1]) ? "yes" : "no (driver-staged)");
  EXPECT_EQ(error_of([&] { cuda::copy_peer(a, Tensor::empty(cpu_device(), {1 << 20})); }).kind(),
            ErrorKind::invalid_argument);
}

// Stream-ordered copies through pinned staging: a write before the kernels after it (its source
// reusable at once), reads after the kernels before it, complete once an event after them is.
TEST(Cuda, StreamOrderedCopiesAcrossDevices) {
  NEED_CUDA(d);
  const Device cpu = cpu_device();
  Stream s(d);
  const int64_t n = (1 << 20) + 3;
  const std::vector<float> v = ramp(static_cast<size_t>(n), 0.25f, -100.0f);
  const Tensor host = Tensor::from_vector(cpu, {n}, v);
  const Tensor dev = Tensor::zeros(d, {n});
  copy(s, host, dev);
  std::fill(host.host_data<float>(), host.host_data<float>() + n, -1.0f);  // staged: no effect
  ops::scale(s, 2.0f, dev);
  const Tensor back = Tensor::zeros(cpu, {n}), before = Tensor::zeros(cpu, {n});
  copy(s, dev, back);
  copy(s, dev, before);
  copy(s, host, dev);
  Stream on_cpu(cpu);
  on_cpu.wait(s.record());
  std::vector<float> twice(v.size());
  for (size_t i = 0; i < v.size(); ++i) twice[i] = 2.0f * v[i];
  EXPECT_EQ(back.to_vector<float>(), twice);
  EXPECT_EQ(before.to_vector<float>(), twice);
  EXPECT_EQ(dev.to_vector<float>(), std::vector<float>(v.size(), -1.0f));
}

TEST(Cuda, ErrorsNameTheDevice) {
  NEED_CUDA(d);
  Stream s(d);
  const Error shapes = error_of([&] {
    ops::gemm(s, Tensor::empty(d, {3, 4}), Tensor::empty(d, {5, 6}), Tensor::empty(d, {3, 6}));
  });
  EXPECT_NE(std::string(shapes.what()).find("cuda:0 gemm: inner dimensions differ"), std::string::npos)
      << shapes.what();
  // Bad labels and indices fail before anything is written, with the CPU's messages.
  const Tensor probs = Tensor::from_vector(d, {2, 3}, std::vector<float>(6, 9.0f));
  const Error labels = error_of([&] {
    ops::softmax_xent_forward(s, Tensor::zeros(d, {2, 3}), Tensor::from_vector(d, {2}, std::vector<int32_t>{1, 3}),
                              probs, Tensor::zeros(d, {1}));
  });
  EXPECT_NE(std::string(labels.what()).find("labels[1] = 3 is outside [0, 3)"), std::string::npos) << labels.what();
  EXPECT_EQ(probs.to_vector<float>(), std::vector<float>(6, 9.0f));
  const Tensor y = Tensor::from_vector(d, {4}, std::vector<float>(4, 1.0f));
  const Error idx = error_of([&] {
    ops::scatter_add(s, Tensor::from_vector(d, {2}, std::vector<int32_t>{0, 9}), Tensor::zeros(d, {2}), y);
  });
  EXPECT_NE(std::string(idx.what()).find("idx[1] = 9 is outside [0, 4)"), std::string::npos) << idx.what();
  // A view not aligned to its element cannot be loaded: unsupported, not a fault.
  const Error misaligned = error_of([&] { ops::scale(s, 2.0f, Tensor(Buffer::allocate(d, 64), {4}, DType::f32, 2)); });
  EXPECT_EQ(misaligned.kind(), ErrorKind::unsupported) << misaligned.what();
  s.synchronize();  // the context is still healthy
}

// f32 gemm must not use TF32 unless asked: K = 1024 products agree with the CPU to f32 rounding.
TEST(Cuda, GemmIsFullF32ByDefault) {
  NEED_CUDA(d);
  if (std::getenv("TANDEM_CUDA_TF32") != nullptr) GTEST_SKIP() << "TANDEM_CUDA_TF32 is set";
  const Device cpu = cpu_device();
  Stream s(d), sc(cpu);
  const std::vector<float> av = ramp(64 * 1024, 1e-4f, -3.0f), bv = ramp(1024 * 32, -2e-4f, 1.5f);
  const Tensor a = Tensor::from_vector(d, {64, 1024}, av), b = Tensor::from_vector(d, {1024, 32}, bv),
               c = Tensor::empty(d, {64, 32});
  const Tensor ac = Tensor::from_vector(cpu, {64, 1024}, av), bc = Tensor::from_vector(cpu, {1024, 32}, bv),
               cc = Tensor::empty(cpu, {64, 32});
  ops::gemm(s, a, b, c);
  ops::gemm(sc, ac, bc, cc);
  const std::vector<float> got = c.to_vector<float>(), want = cc.to_vector<float>();
  // f32 summation orders differ by ~1e-7 of the largest output; TF32 (10-bit mantissa) by ~1e-3.
  double largest = 0;
  for (float w : want) largest = std::max(largest, double(std::fabs(w)));
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 2e-5 * largest) << i;
}

}  // namespace
}  // namespace tandem
