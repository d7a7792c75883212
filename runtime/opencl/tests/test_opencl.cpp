// The opencl backend's own behaviour: discovery, memory, streams, the program cache, errors.
// Every test skips where no OpenCL device exists (a machine without an ICD).
#include <gtest/gtest.h>

#include <string>
#include <vector>

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

TEST(OpenCL, ProgramsAreBuiltOncePerDevice) {
  NEED_OPENCL(d);
  Stream s(d);
  const Tensor x = Tensor::zeros(d, {64});
  ops::fill(s, x, 1.0f);  // builds elementwise.cl if nothing has yet
  s.synchronize();
  const int builds = opencl::program_builds(*d.impl());
  EXPECT_GE(builds, 1);
  ops::fill(s, x, 2.0f);
  ops::relu_forward(s, x, x);
  s.synchronize();
  EXPECT_EQ(opencl::program_builds(*d.impl()), builds);
  EXPECT_EQ(x.to_vector<float>(), std::vector<float>(64, 2.0f));
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
  const Tensor a = Tensor::zeros(d, {4, 4}, DType::f16);
  try {
    ops::gemm(s, a, a, a);
    ADD_FAILURE() << "f16 gemm ran";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unsupported) << e.what();
  }
}

TEST(OpenCL, ForeignAddressesAreRejected) {
  NEED_OPENCL(d);
  float host = 0;
  const std::string msg = error_of([&] { d.impl()->copy_from_host(&host, &host, 4); });
  EXPECT_NE(msg.find("not inside a buffer of this device"), std::string::npos) << msg;
}

}  // namespace
}  // namespace tandem
