// The opencl backend's own behaviour: discovery, memory, streams, the program cache, errors.
// Every test skips where no OpenCL device exists (a machine without an ICD).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cl_device.h"
#include "opencl_backend.h"
#include "tandem/error.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

Device first_opencl() {
  for (const Device& d : devices())
    if (d.kind() == DeviceKind::opencl) return d;
  return Device();
}

#define NEED_OPENCL(d)                                            \
  const Device d = first_opencl();                                \
  do {                                                            \
    if (!(d)) GTEST_SKIP() << "no OpenCL device on this machine"; \
  } while (0)

// A tensor's bytes, whatever its dtype.
std::vector<uint8_t> bytes(const Tensor& t) {
  std::vector<uint8_t> b(t.nbytes());
  t.copy_to_host(b.data());
  return b;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(OpenCL, DevicesAreListedWithSaneProps) {
  NEED_OPENCL(d);
  EXPECT_EQ(d.id().rfind("opencl:", 0), 0u) << d.id();
  const DeviceProps& p = d.props();
  EXPECT_FALSE(p.name.empty());
  EXPECT_GT(p.memory_bytes, 0u);
  EXPECT_GE(p.compute_units, 1);
  EXPECT_FALSE(p.host_accessible);
  EXPECT_FALSE(p.modeled);
  EXPECT_NE(p.driver.find("OpenCL"), std::string::npos) << p.driver;
  EXPECT_EQ(find_device("opencl").id(), d.id());
}

TEST(OpenCL, CopiesRoundTripThroughViews) {
  NEED_OPENCL(d);
  std::vector<float> v(1000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.5f - 7.0f;
  const Tensor a = Tensor::from_vector(d, {1000}, v);
  EXPECT_EQ(a.to_vector<float>(), v);
  // A view at an offset, device to device, and back through the host.
  const Buffer big = Buffer::allocate(d, 4096);
  const Tensor view(big, {100}, DType::f32, 64);
  copy(Tensor(a.buffer(), {100}, DType::f32, 40), view);
  EXPECT_EQ(view.to_vector<float>(), std::vector<float>(v.begin() + 10, v.begin() + 110));
  const Tensor z = Tensor::zeros(d, {5}, DType::i32);
  EXPECT_EQ(z.to_vector<int32_t>(), std::vector<int32_t>(5, 0));
  // Host reads see work queued on a stream without an explicit synchronize, as on the CPU.
  Stream s(d);
  ops::scale(s, 2.0f, a);
  EXPECT_EQ(a.to_vector<float>()[3], v[3] * 2.0f);
}

TEST(OpenCL, EventsOrderStreams) {
  NEED_OPENCL(d);
  Stream s1(d), s2(d);
  const Tensor x = Tensor::from_vector(d, {4096}, std::vector<float>(4096, 1.0f));
  ops::scale(s1, 3.0f, x);
  const Event e = s1.record();
  s2.wait(e);
  ops::scale(s2, 2.0f, x);
  s2.synchronize();
  EXPECT_TRUE(e.ready());
  EXPECT_EQ(x.to_vector<float>()[4095], 6.0f);
}

// Copies on a stream are ordered with its kernels and with each other: a write from host memory
// before the kernels after it, a read into host memory after the kernels before it. The host's
// source may be overwritten once the call returns (the write is staged); the destination of a
// read is complete once an event after it is.
TEST(OpenCL, StreamOrderedCopiesAcrossDevices) {
  NEED_OPENCL(d);
  const Device cpu = cpu_device();
  Stream s(d);
  const int64_t n = 1 << 16;
  std::vector<float> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 1000) - 500.0f;
  const Tensor host = Tensor::from_vector(cpu, {n}, v);
  const Tensor dev = Tensor::zeros(d, {n});
  copy(s, host, dev);
  std::fill(host.host_data<float>(), host.host_data<float>() + n, -1.0f);  // staged: no effect
  ops::scale(s, 2.0f, dev);
  const Tensor back = Tensor::zeros(cpu, {n}), before = Tensor::zeros(cpu, {n});
  copy(s, dev, back);    // after the scale
  copy(s, dev, before);  // and before the next write
  copy(s, host, dev);
  const Event done = s.record();
  Stream on_cpu(cpu);
  on_cpu.wait(done);  // the host waits for the event: the reads are complete
  std::vector<float> twice(v.size());
  for (size_t i = 0; i < v.size(); ++i) twice[i] = 2.0f * v[i];
  EXPECT_EQ(back.to_vector<float>(), twice);
  EXPECT_EQ(before.to_vector<float>(), twice);
  EXPECT_EQ(dev.to_vector<float>(), std::vector<float>(v.size(), -1.0f));
  // The stream must be on one of the two devices.
  const Tensor other = Tensor::zeros(d, {n});
  Stream cpu_stream(cpu);
  EXPECT_THROW(copy(cpu_stream, dev, other), Error);
  EXPECT_THROW(copy(s, host, Tensor::zeros(cpu, {n - 1})), Error);
}

TEST(OpenCL, ProgramsAreBuiltOncePerDevice) {
  NEED_OPENCL(d);
  Stream s(d);
  const Tensor x = Tensor::zeros(d, {64});
  ops::fill(s, x, 1.0f);  // builds elementwise.cl if nothing has yet
  s.synchronize();
  const int builds = opencl::program_builds(*d.impl());
  EXPECT_GE(builds, 1);
  ops::fill(s, x, 2.0f);
  ops::add(s, x, x, x);  // elementwise.cl again
  s.synchronize();
  EXPECT_EQ(opencl::program_builds(*d.impl()), builds);
  ops::relu_forward(s, x, x);  // bias_relu.cl: built at most once (if no test has yet), then no more
  s.synchronize();
  const int with_relu = opencl::program_builds(*d.impl());
  EXPECT_LE(with_relu, builds + 1);
  ops::relu_forward(s, x, x);
  s.synchronize();
  EXPECT_EQ(opencl::program_builds(*d.impl()), with_relu);
  EXPECT_EQ(x.to_vector<float>(), std::vector<float>(64, 4.0f));
}

TEST(OpenCL, CompileErrorsCarryTheBuildLog) {
  NEED_OPENCL(d);
  EXPECT_EQ(opencl::build_source(*d.impl(), "ok", "kernel void k(global int* x) { x[0] = 1; }"), 1);
  const std::string msg = error_of(
      [&] { opencl::build_source(*d.impl(), "broken", "kernel void k(global int* x) { x[0] = undeclared_name; }"); });
  EXPECT_NE(msg.find(d.id()), std::string::npos) << msg;
  EXPECT_NE(msg.find("broken does not compile"), std::string::npos) << msg;
  EXPECT_NE(msg.find("undeclared_name"), std::string::npos) << msg;  // the compiler's log
}

TEST(OpenCL, BadLabelsFailBeforeWriting) {
  NEED_OPENCL(d);
  Stream s(d);
  const Tensor logits = Tensor::zeros(d, {2, 3});
  const Tensor labels = Tensor::from_vector(d, {2}, std::vector<int32_t>{1, 3});
  const Tensor probs = Tensor::from_vector(d, {2, 3}, std::vector<float>(6, 9.0f));
  const Tensor loss = Tensor::zeros(d, {1});
  const std::string msg = error_of([&] { ops::softmax_xent_forward(s, logits, labels, probs, loss); });
  EXPECT_NE(msg.find("labels[1] = 3 is outside [0, 3)"), std::string::npos) << msg;
  EXPECT_NE(msg.find(d.id()), std::string::npos) << msg;
  EXPECT_EQ(probs.to_vector<float>(), std::vector<float>(6, 9.0f));
}

TEST(OpenCL, MissingKernelVariantIsUnsupported) {
  NEED_OPENCL(d);
  Stream s(d);
  // Kernels index a view by whole elements: an f32 view two bytes into its buffer cannot be one.
  const Tensor x(Buffer::allocate(d, 64), {4}, DType::f32, 2);
  try {
    ops::scale(s, 2.0f, x);
    ADD_FAILURE() << "a misaligned view was scaled";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unsupported) << e.what();
    EXPECT_NE(std::string(e.what()).find("misaligned"), std::string::npos) << e.what();
  }
}

// What the op suite does not cover: bit patterns the conversions must keep, overlapping views,
// NaN magnitudes, and scatter_add's parallel path for distinct indices — each against the CPU.
TEST(OpenCL, EdgeCasesMatchTheCpuBitForBit) {
  NEED_OPENCL(d);
  const Device cpu = find_device("cpu");
  Stream s(d), sc(cpu);
  const std::vector<uint32_t> bits{0x7fc00001u, 0xff800000u, 0x7f7fffffu, 0x477ff000u, 0x477fefffu, 0x33000001u,
                                   0x38800000u, 0x387fffffu, 0x80000001u, 0x00000000u, 0x80000000u, 0x3f800001u,
                                   0x7f800001u, 0x4f000000u, 0xcf000001u, 0x3fc00000u, 0xbfc00000u, 0x437f8000u};
  std::vector<float> x(bits.size());
  for (size_t i = 0; i < x.size(); ++i) std::memcpy(&x[i], &bits[i], 4);
  const auto n = static_cast<int64_t>(x.size());
  for (DType t : {DType::f16, DType::bf16, DType::i8, DType::i32, DType::u8}) {
    const Tensor a = Tensor::from_vector(d, {n}, x), b = Tensor::from_vector(cpu, {n}, x);
    const Tensor ya = Tensor::empty(d, {n}, t), yb = Tensor::empty(cpu, {n}, t);
    ops::cast(s, a, ya);
    ops::cast(sc, b, yb);
    EXPECT_EQ(bytes(ya), bytes(yb)) << "f32 to " << dtype_name(t);
    const Tensor back_a = Tensor::empty(d, {n}), back_b = Tensor::empty(cpu, {n});
    ops::cast(s, ya, back_a);
    ops::cast(sc, yb, back_b);
    EXPECT_EQ(bytes(back_a), bytes(back_b)) << dtype_name(t) << " to f32";
  }
  // cast between partly overlapping views of one buffer is refused before anything is written
  // (in place, cast takes only the very same view), here as on every device.
  std::vector<int32_t> v(64);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(i);
  const Tensor whole = Tensor::from_vector(d, {64}, v);
  EXPECT_THROW(ops::cast(s, Tensor(whole.buffer(), {48}, DType::i32, 0), Tensor(whole.buffer(), {48}, DType::i32, 40)),
               Error);
  ops::cast(s, whole, whole);
  EXPECT_EQ(whole.to_vector<int32_t>(), v);
  // NaN ranks below every magnitude in kth_magnitude and is never selected by compact.
  const std::vector<float> m{NAN, 0.5f, -2.0f, NAN, 2.0f, -0.0f, 1.0f};
  for (int64_t k = 1; k <= 7; ++k) {
    const Tensor ta = Tensor::empty(d, {1}), tb = Tensor::empty(cpu, {1});
    ops::kth_magnitude(s, Tensor::from_vector(d, {7}, m), ta, {k});
    ops::kth_magnitude(sc, Tensor::from_vector(cpu, {7}, m), tb, {k});
    EXPECT_EQ(ta.to_vector<float>(), tb.to_vector<float>()) << "k = " << k;
  }
  const Tensor idx = Tensor::empty(d, {7}, DType::i32), val = Tensor::empty(d, {7}),
               count = Tensor::empty(d, {1}, DType::i32);
  ops::compact(s, Tensor::from_vector(d, {7}, m), Tensor::from_vector(d, {1}, std::vector<float>{0.0f}), idx, val,
               count);
  EXPECT_EQ(count.to_vector<int32_t>(), std::vector<int32_t>{5});
  const std::vector<int32_t> picked = idx.to_vector<int32_t>();
  EXPECT_EQ(std::vector<int32_t>(picked.begin(), picked.begin() + 5), (std::vector<int32_t>{1, 2, 4, 5, 6}));
  // scatter_add with increasing indices (the parallel path) adds exactly what the CPU adds.
  std::vector<int32_t> inc(300);
  std::vector<float> add(300), y(1000);
  for (size_t j = 0; j < inc.size(); ++j) inc[j] = static_cast<int32_t>(3 * j + 1), add[j] = 0.1f * float(j) - 7.0f;
  for (size_t i = 0; i < y.size(); ++i) y[i] = 1.0f / float(i + 1);
  const Tensor ya = Tensor::from_vector(d, {1000}, y), yb = Tensor::from_vector(cpu, {1000}, y);
  ops::scatter_add(s, Tensor::from_vector(d, {300}, inc), Tensor::from_vector(d, {300}, add), ya);
  ops::scatter_add(sc, Tensor::from_vector(cpu, {300}, inc), Tensor::from_vector(cpu, {300}, add), yb);
  EXPECT_EQ(ya.to_vector<float>(), yb.to_vector<float>());
}

// Buffers are cl_mem objects: a view reaches kernels as its buffer's cl_mem at its byte offset,
// and has no address (nothing to look up per argument, nothing a host could dereference).
TEST(OpenCL, TensorsAreViewsOfClMemObjects) {
  NEED_OPENCL(d);
  const Tensor whole = Tensor::zeros(d, {64});
  const Tensor view(whole.buffer(), {16}, DType::f32, 128);
  EXPECT_EQ(whole.data(), nullptr);
  EXPECT_EQ(opencl::cl_ref(view).mem, opencl::cl_ref(whole).mem);
  EXPECT_EQ(opencl::cl_ref(view).offset, 128u);
  EXPECT_TRUE(view.overlaps(whole));
  EXPECT_FALSE(view.overlaps(Tensor(whole.buffer(), {16}, DType::f32, 0)));
  EXPECT_FALSE(view.overlaps(Tensor::zeros(d, {64})));
}

}  // namespace
}  // namespace tandem
