// Bad input through the public API: each becomes an Error naming the op, the device and the
// offending shapes or values — never a crash. A second host-memory device with a single
// kernel stands in for "another device" (this program registers it; the op suites don't).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "../ops/harness.h"
#include "tandem/backend.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

class SecondHostDevice final : public DeviceImpl {
 public:
  SecondHostDevice() : DeviceImpl(DeviceKind::cpu, 1, props()) {
    register_kernel(opdesc::relu_forward, {[](const OpCall& c) {
                                             const float* x = static_cast<const float*>(c.in[0]->data());
                                             float* y = static_cast<float*>(c.out[0]->data());
                                             for (int64_t i = 0; i < c.in[0]->numel(); ++i) y[i] = x[i] > 0 ? x[i] : 0;
                                           },
                                           [](const OpCall& c) -> const char* {
                                             return c.in[0]->numel() > 8 ? "more than 8 elements" : nullptr;
                                           }});
  }
  static DeviceProps props() {
    DeviceProps p;
    p.name = "second host device (test)";
    p.host_accessible = true;
    return p;
  }
  std::unique_ptr<DeviceBuffer> allocate(size_t bytes) override { return host_buffer(bytes, id()); }
  void memset(const DeviceBuffer& d, size_t o, int v, size_t n) override { std::memset(d.at(o), v, n); }
  void copy_from_host(const DeviceBuffer& d, size_t o, const void* s, size_t n) override {
    std::memcpy(d.at(o), s, n);
  }
  void copy_to_host(void* d, const DeviceBuffer& s, size_t o, size_t n) override { std::memcpy(d, s.at(o), n); }
  void copy_on_device(const DeviceBuffer& d, size_t dof, const DeviceBuffer& s, size_t sof, size_t n) override {
    std::memcpy(d.at(dof), s.at(sof), n);
  }
  std::shared_ptr<StreamImpl> create_stream() override { return cpu_device().impl()->create_stream(); }
};

class SecondBackend final : public Backend {
 public:
  std::string name() const override { return "test"; }
  std::string version() const override { return "test"; }
  std::vector<DeviceImpl*> devices() override { return {&device_}; }

 private:
  SecondHostDevice device_;
};

Device second_device() {
  static const Device d = [] {
    register_backend(std::make_unique<SecondBackend>());
    return find_device("cpu:1");
  }();
  return d;
}

using test::expect_error;

class BadInput : public ::testing::Test {
 protected:
  Device cpu = cpu_device();
  Stream s{cpu};
};

TEST_F(BadInput, GemmInnerDimensionsDiffer) {
  Tensor a = Tensor::zeros(cpu, {3, 4}), b = Tensor::zeros(cpu, {5, 6}), c = Tensor::zeros(cpu, {3, 6});
  expect_error([&] { ops::gemm(s, a, b, c); }, ErrorKind::invalid_argument,
               {"tandem: cpu:0 gemm:", "inner dimensions differ", "a f32[3,4]", "b f32[5,6]"});
}

TEST_F(BadInput, GemmOutputShape) {
  Tensor a = Tensor::zeros(cpu, {3, 4}), b = Tensor::zeros(cpu, {4, 6}), c = Tensor::zeros(cpu, {6, 3});
  expect_error([&] { ops::gemm(s, a, b, c); }, ErrorKind::invalid_argument, {"c f32[6,3]", "expected [3,6]"});
}

TEST_F(BadInput, WrongDtype) {
  Tensor x = Tensor::zeros(cpu, {4}, DType::i32), y = Tensor::zeros(cpu, {4}, DType::i32);
  expect_error([&] { ops::relu_forward(s, x, y); }, ErrorKind::invalid_argument,
               {"relu_forward", "x i32[4]", "expected dtype f32"});
  Tensor h = Tensor::zeros(cpu, {2, 2}, DType::f16), f = Tensor::zeros(cpu, {2, 2});
  expect_error([&] { ops::gemm(s, h, h, f); }, ErrorKind::invalid_argument, {"dtypes differ"});
}

TEST_F(BadInput, MismatchedShapes) {
  Tensor x = Tensor::zeros(cpu, {4}), y = Tensor::zeros(cpu, {5});
  expect_error([&] { ops::add(s, x, x, y); }, ErrorKind::invalid_argument, {"add", "shapes differ", "c f32[5]"});
  Tensor act = Tensor::zeros(cpu, {2, 3}), bias = Tensor::zeros(cpu, {4});
  expect_error([&] { ops::bias_add(s, act, bias); }, ErrorKind::invalid_argument,
               {"bias f32[4]", "length is 4, expected 3"});
}

TEST_F(BadInput, ConvShapesAndParameters) {
  Tensor x = Tensor::zeros(cpu, {1, 3, 8, 8}), w = Tensor::zeros(cpu, {4, 2, 3, 3}),
         y = Tensor::zeros(cpu, {1, 4, 6, 6});
  expect_error([&] { ops::conv2d_forward(s, x, w, y, {}); }, ErrorKind::invalid_argument,
               {"conv2d_forward", "w f32[4,2,3,3]", "input channels is 2, expected 3"});
  Tensor w3 = Tensor::zeros(cpu, {4, 3, 3, 3});
  expect_error(
      [&] {
        ops::conv2d_forward(s, x, w3, y, {0, 1, 0, 0});
      },
      ErrorKind::invalid_argument, {"stride must be"});
  Tensor y_wrong = Tensor::zeros(cpu, {1, 4, 8, 8});
  expect_error([&] { ops::conv2d_forward(s, x, w3, y_wrong, {}); }, ErrorKind::invalid_argument,
               {"y f32[1,4,8,8]", "output height is 8, expected 6"});
}

TEST_F(BadInput, LabelsOutOfRange) {
  Tensor logits = Tensor::zeros(cpu, {3, 4}), probs = Tensor::zeros(cpu, {3, 4}), loss = Tensor::zeros(cpu, {1});
  Tensor labels = Tensor::from_vector(cpu, {3}, std::vector<int32_t>{0, 7, 1});
  expect_error([&] { ops::softmax_xent_forward(s, logits, labels, probs, loss); }, ErrorKind::invalid_argument,
               {"softmax_xent_forward", "labels[1] = 7 is outside [0, 4)"});
}

TEST_F(BadInput, CorruptPoolIndices) {
  Tensor dy = Tensor::zeros(cpu, {1, 1, 2, 2}), dx = Tensor::zeros(cpu, {1, 1, 4, 4});
  Tensor idx = Tensor::from_vector(cpu, {1, 1, 2, 2}, std::vector<int32_t>{0, 5, 99, 3});
  expect_error([&] { ops::maxpool2d_backward(s, dy, idx, dx); }, ErrorKind::invalid_argument,
               {"indices[2] = 99 is outside the 4x4 input plane"});
}

TEST_F(BadInput, EmptyTensor) {
  Tensor empty, y = Tensor::zeros(cpu, {4});
  expect_error([&] { ops::relu_forward(s, empty, y); }, ErrorKind::invalid_argument, {"tensor 'x' is empty"});
}

TEST_F(BadInput, TensorOnAnotherDevice) {
  Tensor x = Tensor::zeros(second_device(), {4}), y = Tensor::zeros(cpu, {4});
  expect_error([&] { ops::relu_forward(s, x, y); }, ErrorKind::invalid_argument,
               {"tandem: cpu:0 relu_forward", "tensor 'x' f32[4] on cpu:1 is not on the stream's device"});
}

TEST_F(BadInput, OpNotImplementedOnDevice) {
  Stream s2(second_device());
  Tensor a = Tensor::zeros(second_device(), {2, 2}), c = Tensor::zeros(second_device(), {2, 2});
  EXPECT_FALSE(second_device().supports(opdesc::gemm));
  expect_error([&] { ops::gemm(s2, a, a, c); }, ErrorKind::unsupported, {"cpu:1 gemm: not implemented on this device"});
  Tensor big = Tensor::zeros(second_device(), {9});
  expect_error([&] { ops::relu_forward(s2, big, big); }, ErrorKind::unsupported,
               {"relu_forward: more than 8 elements"});
  Tensor small = Tensor::from_vector(second_device(), {2}, std::vector<float>{-1, 2});
  ops::relu_forward(s2, small, small);
  EXPECT_EQ(small.to_vector<float>(), (std::vector<float>{0, 2}));
}

// A written tensor may share memory with a read one only where the op declares it in place, and
// then only as the same view; nothing is written when the call is refused.
TEST_F(BadInput, WrittenTensorsMayNotAliasReadOnesUnlessDeclared) {
  Tensor x = Tensor::from_vector(cpu, {8}, std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8});
  const std::vector<float> before = x.to_vector<float>();
  // axpy reads x and updates y: y = x is refused.
  expect_error([&] { ops::axpy(s, 1.0f, x, x); }, ErrorKind::invalid_argument,
               {"cpu:0 axpy: y f32[8] overlaps x f32[8]: this op cannot run in place on them"});
  // add declares c in place of a or b, but only as the same view: a shifted view is refused.
  const Tensor head(x.buffer(), {4}, DType::f32, 0), shifted(x.buffer(), {4}, DType::f32, 4);
  const Tensor mid(x.buffer(), {4}, DType::f32, 8);
  expect_error([&] { ops::add(s, head, mid, shifted); }, ErrorKind::invalid_argument,
               {"add: c f32[4] overlaps a f32[4]: in place it must be the same view"});
  // Two outputs sharing memory are refused whatever the op.
  Tensor in = Tensor::zeros(cpu, {1, 1, 4, 4}), both = Tensor::zeros(cpu, {4}, DType::i32);
  const Tensor y(both.buffer(), {1, 1, 2, 2}, DType::f32), idx(both.buffer(), {1, 1, 2, 2}, DType::i32);
  expect_error([&] { ops::maxpool2d_forward(s, in, y, idx); }, ErrorKind::invalid_argument,
               {"indices i32[1,1,2,2] overlaps y f32[1,1,2,2]: outputs must not share memory"});
  EXPECT_EQ(x.to_vector<float>(), before);
  // Declared and the same view: runs in place.
  ops::add(s, head, head, head);
  ops::relu_forward(s, x, x);
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{2, 4, 6, 8, 5, 6, 7, 8}));
  // Disjoint views of one buffer are independent tensors.
  const Tensor tail(x.buffer(), {4}, DType::f32, 16);
  ops::axpy(s, 1.0f, head, tail);
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{2, 4, 6, 8, 7, 10, 13, 16}));
}

TEST_F(BadInput, CopiesAcrossDevices) {
  Tensor a = Tensor::from_vector(cpu, {3}, std::vector<float>{1, 2, 3});
  Tensor b = Tensor::zeros(second_device(), {3});
  copy(a, b);
  EXPECT_EQ(b.to_vector<float>(), (std::vector<float>{1, 2, 3}));
}

TEST_F(BadInput, UnknownOpAndDevice) {
  expect_error([] { find_op("conv3d"); }, ErrorKind::invalid_argument, {"no op 'conv3d'", "gemm"});
  expect_error([] { find_device("cuda:3"); }, ErrorKind::invalid_argument, {"no device 'cuda:3'", "cpu:0"});
}

TEST_F(BadInput, EmptyHandlesAndMissingParameters) {
  expect_error([] { return Device().props(); }, ErrorKind::invalid_argument, {"empty Device handle"});
  Stream none;
  Tensor x = Tensor::zeros(cpu, {2});
  expect_error([&] { ops::relu_forward(none, x, x); }, ErrorKind::invalid_argument, {"relu_forward", "no stream"});
  Tensor a = Tensor::zeros(cpu, {2, 2}), c = Tensor::zeros(cpu, {2, 2});
  expect_error(
      [&] {
        dispatch(s, find_op("gemm"), {&a, &a}, {&c});
      },
      ErrorKind::invalid_argument, {"cpu:0 gemm: called without its parameters"});
  expect_error([&] { dispatch(s, find_op("gemm"), {&a}, {&a}); }, ErrorKind::invalid_argument,
               {"expects 2 inputs and 1 outputs, got 1 and 1"});
}

TEST_F(BadInput, AllocationTooLarge) {
  expect_error(
      [&] {
        Tensor::empty(cpu, {int64_t{1} << 40, int64_t{1} << 20});
      },
      ErrorKind::out_of_memory, {"cpu:0", "cannot allocate"});
}

}  // namespace
}  // namespace tandem
