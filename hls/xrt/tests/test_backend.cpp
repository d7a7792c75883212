// The fpga-xrt backend through XRT's no-op shim: devices, registered ops and their dispatch
// (arguments marshalled per cores.h and launched). The shim computes nothing, so results are
// never checked here; only that each op reaches its kernel and completes, and that bad
// configurations are errors naming what is wrong.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tandem/error.h"
#include "tandem/log.h"
#include "tandem/nn/network.h"
#include "tandem/ops.h"
#include "tandem/stream.h"
#include "tandem/tensor.h"
#include "xclbin_pack.h"
#include "xrt_backend.h"

namespace tandem::fpga {
namespace {

const std::string kDir = TANDEM_XCLBIN_DIR;
const std::string kManifests = std::string(TANDEM_SOURCE_DIR) + "/bitstreams/manifests/";

XrtConfig config(const std::string& xclbin, const std::string& manifest = "") {
  XrtConfig c;
  c.xclbin = kDir + "/" + xclbin;
  c.manifest = manifest;
  c.timeout = std::chrono::milliseconds(5000);
  return c;
}

TEST(Backend, OneDeviceWithTheCoresOpsAndNoOthers) {
  const auto backend = make_xrt_backend(config("u55c.xclbin"));  // manifest found beside it
  EXPECT_EQ(backend->name(), "fpga-xrt");
  ASSERT_EQ(backend->devices().size(), 1u);
  const Device d(backend->devices()[0]);
  EXPECT_EQ(d.id(), "fpga-xrt:0");
  EXPECT_EQ(d.kind(), DeviceKind::fpga_xrt);
  EXPECT_NE(d.props().name.find("u55c"), std::string::npos) << d.props().name;
  EXPECT_NE(d.props().name.find("computes nothing"), std::string::npos) << d.props().name;
  EXPECT_FALSE(d.props().host_accessible);
  // Every op a core serves (the bindings fpga-sim runs too), since the xclbin holds every core.
  for (const OpDesc* op :
       {&opdesc::gemm, &opdesc::conv2d_forward, &opdesc::conv2d_backward_data, &opdesc::conv2d_backward_weights,
        &opdesc::bias_add, &opdesc::bias_backward, &opdesc::relu_forward, &opdesc::relu_backward,
        &opdesc::maxpool2d_forward, &opdesc::maxpool2d_backward, &opdesc::softmax_xent_forward,
        &opdesc::softmax_xent_backward, &opdesc::fill, &opdesc::scale, &opdesc::add, &opdesc::mul, &opdesc::axpy,
        &opdesc::chunk_absmax, &opdesc::quantize, &opdesc::sign_pack, &opdesc::compact})
    EXPECT_TRUE(d.supports(*op)) << op->name;
  for (const OpDesc* op : {&opdesc::sample, &opdesc::cast, &opdesc::kth_magnitude, &opdesc::pack_bits})
    EXPECT_FALSE(d.supports(*op)) << op->name;
}

TEST(Backend, EveryOpReachesItsKernelAndCompletes) {
  const auto backend = make_xrt_backend(config("u250.xclbin"));
  ASSERT_EQ(backend->devices().size(), 1u);
  const Device d(backend->devices()[0]);
  Stream s(d);
  const auto t = [&](Shape shape, DType dt = DType::f32) { return Tensor::zeros(d, shape, dt); };
  const Tensor a = t({8, 4}), b = t({4, 6}), c = t({8, 6});
  EXPECT_NO_THROW(ops::gemm(s, a, b, c, {.trans_a = false, .trans_b = false, .alpha = 1.0f, .beta = 0.5f}));
  const Tensor x = t({1, 2, 5, 5}), w = t({3, 2, 3, 3}), y = t({1, 3, 3, 3});
  EXPECT_NO_THROW(ops::conv2d_forward(s, x, w, y, {}));
  const Tensor g = t({1000}), scales = t({4}), unit = t({4}), q = t({1000}, DType::i8), bits = t({125}, DType::u8);
  const ChunkParams chunk{.chunk = 256};
  QuantizeParams quant;
  quant.chunk = 256;
  EXPECT_NO_THROW(ops::chunk_absmax(s, g, scales, chunk));
  EXPECT_NO_THROW(ops::quantize(s, g, unit, q, quant));
  EXPECT_NO_THROW(ops::sign_pack(s, g, unit, bits, chunk));
  const Tensor thr = t({1}), idx = t({16}, DType::i32), val = t({16}), count = t({1}, DType::i32);
  EXPECT_NO_THROW(ops::compact(s, g, thr, idx, val, count));
  EXPECT_NO_THROW(ops::axpy(s, 2.0f, g, t({1000})));
  // A view into a bigger buffer reaches the kernel as a sub-buffer.
  const Tensor big = t({2000});
  EXPECT_NO_THROW(ops::axpy(s, 1.0f, g, Tensor(big.buffer(), {1000}, DType::f32, 4000)));
  // The layer ops, through the bindings fpga-sim also runs.
  const Tensor bias = t({3}), pooled = t({1, 3, 1, 1}), where = t({1, 3, 1, 1}, DType::i32);
  EXPECT_NO_THROW(ops::bias_add(s, y, bias));
  EXPECT_NO_THROW(ops::relu_forward(s, y, y));
  EXPECT_NO_THROW(ops::maxpool2d_forward(s, y, pooled, where, {.kernel = 2, .stride = 2}));
  EXPECT_NO_THROW(ops::maxpool2d_backward(s, pooled, where, y));
  EXPECT_NO_THROW(ops::conv2d_backward_data(s, y, w, x, {}));
  EXPECT_NO_THROW(ops::conv2d_backward_weights(s, x, y, w, {}));
  const Tensor logits = t({2, 5}), probs = t({2, 5}), loss = t({1});
  const Tensor labels = Tensor::from_vector(d, {2}, std::vector<int32_t>{1, 4});
  EXPECT_NO_THROW(ops::softmax_xent_forward(s, logits, labels, probs, loss));
  EXPECT_NO_THROW(ops::softmax_xent_backward(s, probs, labels, logits));
  // Labels are read back and checked before the core runs, as on every device.
  const Tensor bad = Tensor::from_vector(d, {2}, std::vector<int32_t>{1, 5});
  EXPECT_THROW(ops::softmax_xent_forward(s, logits, bad, probs, loss), Error);
  s.synchronize();
  EXPECT_EQ(c.to_vector<float>().size(), 48u);
}

TEST(Backend, WhatTheCoresCannotDoIsUnsupported) {
  const auto backend = make_xrt_backend(config("u250.xclbin"));
  const Device d(backend->devices()[0]);
  Stream s(d);
  const Tensor a = Tensor::zeros(d, {4, 4}, DType::f16), c = Tensor::zeros(d, {4, 4}, DType::f16);
  try {
    ops::gemm(s, a, a, c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unsupported) << e.what();
  }
}

// A bitstream with the forward convolution but not its gradients: a layer placed there runs on
// the CPU, said exactly once — not per step, not per network built.
TEST(Backend, LayersTheBitstreamCannotHoldFallBackWithOneWarning) {
  nlohmann::json j = nlohmann::json::parse(std::ifstream(kManifests + "u250.json"));
  auto& kernels = j["kernels"];
  for (auto it = kernels.begin(); it != kernels.end();)
    it = std::string((*it)["name"]).rfind("tandem_conv2d_backward", 0) == 0 ? kernels.erase(it) : it + 1;
  const std::string manifest = ::testing::TempDir() + "/forward_only.json";
  const std::string xclbin = ::testing::TempDir() + "/forward_only.xclbin";
  std::ofstream(manifest) << j.dump();
  write_file(xclbin, pack_xclbin(parse_manifest(j.dump(), "forward_only.json")));
  XrtConfig cfg;
  cfg.xclbin = xclbin;
  cfg.manifest = manifest;
  cfg.timeout = std::chrono::milliseconds(5000);
  const auto backend = make_xrt_backend(cfg);
  const Device xrt(backend->devices().at(0));
  std::vector<std::string> warnings;
  set_log_sink([&](LogLevel l, std::string_view m) {
    if (l == LogLevel::warn) warnings.emplace_back(m);
  });
  const nn::ModelSpec spec = nn::load_model("cnn");
  std::vector<Device> placement(spec.layers.size(), cpu_device());
  placement[0] = xrt;  // conv1
  for (int build = 0; build < 2; ++build) {
    nn::Network net(spec, placement);
    net.init(1);
    EXPECT_EQ(net.input_device(), cpu_device());
    const Tensor x = Tensor::from_vector(cpu_device(), {2, 1, 28, 28}, std::vector<float>(2 * 784, 0.5f));
    const Tensor labels = Tensor::from_vector(cpu_device(), {2}, std::vector<int32_t>{1, 2});
    for (int step = 0; step < 3; ++step) {
      net.forward(x);
      EXPECT_TRUE(std::isfinite(net.backward(labels)));
    }
  }
  set_log_sink({});
  ASSERT_EQ(warnings.size(), 1u);
  // The first layer's input needs no gradient, so the first kernel it lacks is the weights' one.
  EXPECT_EQ(
      warnings[0],
      "layer conv1 of cnn falls back from fpga-xrt:0 to cpu:0: fpga-xrt:0 has no kernel for conv2d_backward_weights");
}

TEST(Backend, BadConfigurationsAreErrorsNamingTheFile) {
  const std::string manifest = kManifests + "u250.json";
  try {
    make_xrt_backend(config("bad_bank.xclbin", manifest));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tandem_quantize argument 2 ('q') is wired to DDR[0]"), std::string::npos)
        << e.what();
  }
  try {
    make_xrt_backend(config("bad_arg_name.xclbin"));  // no bad_arg_name.json beside it
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(std::string(e.what()).find("bad_arg_name.json"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_xrt_backend(config("nonexistent.xclbin", manifest)), Error);
}

TEST(Backend, NoXclbinOrNoXrtMeansNoDevices) {
  XrtConfig none;
  EXPECT_TRUE(make_xrt_backend(none)->devices().empty());
  const std::string saved = std::getenv("XILINX_XRT");
  unsetenv("XILINX_XRT");
  EXPECT_TRUE(make_xrt_backend(config("u250.xclbin"))->devices().empty());
  setenv("XILINX_XRT", saved.c_str(), 1);
}

TEST(Backend, TimeoutComesFromTheEnvironment) {
  setenv("TANDEM_XRT_TIMEOUT_MS", "1500", 1);
  EXPECT_EQ(XrtConfig::from_env().timeout, std::chrono::milliseconds(1500));
  for (const char* bad : {"0", "-5", "10s", "soon"}) {
    setenv("TANDEM_XRT_TIMEOUT_MS", bad, 1);
    EXPECT_THROW(XrtConfig::from_env(), Error) << bad;
  }
  unsetenv("TANDEM_XRT_TIMEOUT_MS");
}

}  // namespace
}  // namespace tandem::fpga
