// Training parity with PyTorch, without PyTorch: tools/torch_parity.py trained resnet20 and
// mobilenet a few SGD steps, and vit and a small encoder (masked-token labels with ignored
// positions) a few AdamW steps (the block checked there against nn.TransformerEncoderLayer), from fixed weights on fixed batches, in float64 and float32, and wrote
// what it saw (tests/data/parity). Tandem replays the same steps on every device and must land
// on PyTorch's float64 losses, gradients, weights and running statistics within three times the
// error PyTorch's own float32 run makes on each (BN over a batch of 8 makes some gradients
// ill-conditioned: float32 PyTorch is 1e-3 off the float64 answer on the ResNet's stem) — and
// never looser than 1e-4 of the tensor's scale.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "../ops/harness.h"
#include "tandem/file.h"
#include "tandem/graph/ops.h"
#include "tandem/nn/network.h"
#include "tandem/nn/optimizer.h"

namespace tandem::nn {
namespace {

using nlohmann::json;

struct Fixture {
  json meta;
  std::vector<float> data;
  struct Entry {
    Shape shape;
    std::vector<float> v;
    double f32_error = 0;  ///< PyTorch float32's scaled error on it
  };
  std::map<std::string, std::map<std::string, Entry>> t;  // role -> name -> entry

  explicit Fixture(const std::string& model) {
    const std::string base = std::string(TANDEM_SOURCE_DIR) + "/tests/data/parity/" + model;
    meta = json::parse(read_file(base + ".json", "parity fixture"));
    const std::string bin = read_file(base + ".bin", "parity fixture", 64u << 20);
    data.resize(bin.size() / 4);
    std::memcpy(data.data(), bin.data(), data.size() * 4);
    for (const json& e : meta["tensors"]) {
      std::vector<int64_t> dims = e["shape"].get<std::vector<int64_t>>();
      const Shape s{std::span<const int64_t>(dims)};
      const size_t at = e["offset"].get<size_t>();
      t[e["role"]][e["name"]] = {
          s,
          std::vector<float>(data.begin() + static_cast<std::ptrdiff_t>(at),
                             data.begin() + static_cast<std::ptrdiff_t>(at + static_cast<size_t>(s.numel()))),
          e.value("f32_error", 0.0)};
    }
  }
};

class Parity : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

// Relative to the tensor's scale: |got − want| ≤ tol · max|want| everywhere, tol from float32's error.
void expect_near_scaled(const std::vector<float>& got, const Fixture::Entry& ref, const std::string& what) {
  const std::vector<float>& want = ref.v;
  const double tol = std::max(1e-4, 3.0 * ref.f32_error);
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 1e-12, worst = 0;
  size_t at = 0;
  for (float w : want) scale = std::max(scale, double(std::abs(w)));
  for (size_t i = 0; i < got.size(); ++i)
    if (double e = std::abs(double(got[i]) - want[i]); e > worst) worst = e, at = i;
  EXPECT_LE(worst / scale, tol) << what << ": worst element " << at << " is " << got[at] << ", PyTorch " << want[at]
                                << " (scale " << scale << "; PyTorch float32 is " << ref.f32_error << " off)";
}

TEST_P(Parity, TrainingStepsMatchPyTorch) {
  const auto& [model, device_id] = GetParam();
  const Fixture f(model);
  const Device d = find_device(device_id);
  const ModelSpec spec = parse_model(f.meta["model"].dump(), model);
  Network net(spec, {d});
  net.set_fusion(true);  // as the trainer runs it: ReLUs fused into bias, add and batch norm
  for (Param* p : net.params()) {
    ASSERT_TRUE(f.t.at("param").count(p->name)) << p->name;
    p->value.copy_from_host(f.t.at("param").at(p->name).v.data());
  }
  for (Param* b : net.buffers()) b->value.copy_from_host(f.t.at("buffer").at(b->name).v.data());
  OptimizerConfig cfg;
  cfg.lr = f.meta["lr"], cfg.momentum = f.meta["momentum"], cfg.weight_decay = f.meta["weight_decay"];
  cfg.kind = parse_optimizer(f.meta.value("optimizer", "sgd"));
  cfg.beta1 = f.meta.value("beta1", 0.9f), cfg.beta2 = f.meta.value("beta2", 0.999f), cfg.eps = f.meta.value("eps", 1e-8f);
  std::unique_ptr<Optimizer> opt;
  if (cfg.kind == OptimizerKind::sgd)
    opt = std::make_unique<Sgd>(cfg);
  else
    opt = std::make_unique<Adam>(cfg);
  const int64_t batch = f.meta["batch"], steps = f.meta["steps"];
  const auto& x = f.t.at("input").at("x");
  const auto& y = f.t.at("labels").at("y");
  const int64_t per = x.shape.numel() / steps, labels_per = y.shape.numel() / steps;
  // One step's input: pixels, or token ids (the fixture holds them as floats).
  auto input = [&](int64_t s) {
    const ExampleBatch shape = example_batch(spec, batch, 0);
    std::vector<float> xs(x.v.begin() + s * per, x.v.begin() + (s + 1) * per);
    if (!spec.token_input()) return Tensor::from_vector(net.input_device(), shape.input_shape, xs);
    return Tensor::from_vector(net.input_device(), shape.input_shape, std::vector<int32_t>(xs.begin(), xs.end()));
  };
  std::vector<Param*> params = net.params();
  std::vector<const Tensor*> grads;
  for (Param* p : params) grads.push_back(&p->grad);
  for (int64_t s = 0; s < steps; ++s) {
    std::vector<int32_t> ys;  // per sample, or per token with ignore_label where none is taken
    for (int64_t i = 0; i < labels_per; ++i) ys.push_back(static_cast<int32_t>(y.v[static_cast<size_t>(s * labels_per + i)]));
    const Tensor xt = input(s);
    const Tensor yt = Tensor::from_vector(net.output_device(), {labels_per}, ys);
    net.forward(xt);
    const float loss = net.backward(yt);
    const double want = f.meta["losses"][static_cast<size_t>(s)];
    const double f32 = f.meta["losses_f32_error"][static_cast<size_t>(s)];
    EXPECT_NEAR(loss, want, std::max(1e-5 * std::abs(want), 3.0 * f32)) << model << " step " << s;
    if (s == 0)
      for (Param* p : params)
        if (f.t.at("grad0").count(p->name))
          expect_near_scaled(p->grad.to_f32(), f.t.at("grad0").at(p->name), p->name + " gradient");
    opt->step(net, params, grads, cfg.lr);
  }
  for (Param* p : params)
    if (f.t.at("param_after").count(p->name))
      expect_near_scaled(p->value.to_f32(), f.t.at("param_after").at(p->name), p->name + " after training");
  for (Param* b : net.buffers())
    expect_near_scaled(b->value.to_f32(), f.t.at("buffer_after").at(b->name), b->name + " after training");
  // Evaluation with the trained running statistics: batch norm folded into the convolutions
  // gives the unfolded network's logits to rounding.
  const Tensor xt = input(0);
  const std::vector<float> folded = net.infer(xt).to_f32();
  size_t folds = 0, bns = 0;
  for (size_t i = 0; i < net.graph().nodes(); ++i) {
    folds += net.graph().node(i).op == &graph::opdef::batchnorm_fold;
    bns += net.graph().node(i).op == &graph::opdef::batchnorm_infer;
  }
  if (d.supports(opdesc::batchnorm_fold)) {
    EXPECT_EQ(folds, net.buffers().size() / 2);  // every normalization follows its convolution
    EXPECT_EQ(bns, 0u);
  }
  net.set_fusion(false);
  const std::vector<float> plain = net.infer(xt).to_f32();
  ASSERT_EQ(folded.size(), plain.size());
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_NEAR(folded[i], plain[i], 1e-4 * (1 + std::abs(plain[i]))) << i;
}

INSTANTIATE_TEST_SUITE_P(Models, Parity,
                         ::testing::Combine(::testing::Values("resnet20", "mobilenet", "vit", "encoder"),
                                            ::testing::ValuesIn(test::device_ids())),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + test::param_name(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace tandem::nn
