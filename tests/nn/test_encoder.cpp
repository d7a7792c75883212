// The BERT-style encoder in training: bad settings and token models named, the per-token loss
// with ignored labels against finite differences, fused attention, masked-token training that
// learns. (Its parameter count is with the other models' in tests/nn/test_data_model.cpp.)
#include <gtest/gtest.h>

#include <cmath>

#include "../ops/harness.h"
#include "fixtures.h"
#include "tandem/nn/model.h"
#include "tandem/graph/ops.h"
#include "tandem/nn/network.h"

namespace tandem::nn {
namespace {

TEST(Encoder, BadSettingsAndShapesAreNamed) {
  test::expect_error([] { load_model("encoder:depth=3"); }, ErrorKind::invalid_argument, {"unknown setting \"depth\""});
  test::expect_error([] { load_model("encoder:seq=0"); }, ErrorKind::invalid_argument, {"seq must be an integer in [1,"});
  test::expect_error([] { load_model("encoder:heads=3"); }, ErrorKind::invalid_argument, {"3 heads do not divide the width 256"});
  auto model = [](const std::string& top, const std::string& nodes) {
    return R"({"version": 2, "name": "t", )" + top + R"(, "nodes": [)" + nodes + "]}";
  };
  const std::string embed = R"({"name": "emb", "op": "embedding", "out": 8}, )";
  const std::string head = R"(, {"name": "dec", "op": "linear", "out": 20, "flatten": false})";
  // A table shorter than the sequence is refused by node; a longer one serves its first rows.
  test::expect_error(
      [&] { parse_model(model(R"("input": [32], "vocab": 20, "classes": 20)", embed + R"({"name": "pos", "op": "position_embedding", "positions": 16})" + head), "t.json"); },
      ErrorKind::invalid_argument, {"t.json", "node pos: a sequence of 32 tokens is longer than its position table (16 positions)"});
  const ModelSpec longer = parse_model(model(R"("input": [32], "vocab": 20, "classes": 20)", embed + R"({"name": "pos", "op": "position_embedding", "positions": 64})" + head));
  EXPECT_EQ(longer.params()[1].shape, (Shape{1, 64, 8}));
  // Heads that do not divide the width.
  test::expect_error(
      [&] { parse_model(model(R"("input": [8], "vocab": 20, "classes": 20)", embed + R"({"name": "att", "op": "attention", "heads": 3})" + head), "t.json"); },
      ErrorKind::invalid_argument, {"t.json", "node att: 3 heads do not divide the width 8"});
  // An embedding needs token ids: a vocabulary, and the model's input.
  test::expect_error([&] { parse_model(model(R"("input": [1, 4, 4], "classes": 20)", R"({"name": "emb", "op": "embedding", "out": 8})" + head), "t.json"); },
                     ErrorKind::invalid_argument, {"t.json", "embedding reads token ids"});
  test::expect_error([&] { parse_model(model(R"("input": [1, 4, 4], "vocab": 20, "classes": 20)", R"({"name": "emb", "op": "embedding", "out": 8})" + head), "t.json"); },
                     ErrorKind::invalid_argument, {"t.json", "\"input\" must be [tokens]"});
  test::expect_error(
      [&] { parse_model(model(R"("input": [8], "vocab": 20, "classes": 20)", embed + R"({"name": "emb2", "op": "embedding", "out": 8})" + head), "t.json"); },
      ErrorKind::invalid_argument, {"t.json", "node emb2: embedding reads the model's token ids"});
}

// The per-token loss (a mean over the labels kept, ignored ones taking no part) and its gradient
// through embedding, positions, a block and the head, against central differences.
TEST(Encoder, GradientsMatchDifferencesWithIgnoredLabels) {
  const ModelSpec spec = load_model("encoder:vocab=11,seq=6,width=8,layers=1,heads=2,mlp=16");
  Network net(spec, {cpu_device()});
  net.init(3);
  std::vector<int32_t> ids(2 * 6), labels(2 * 6, ignore_label);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((i * 7) % 11 == 2 ? 3 : (i * 7) % 11);  // no 2
  labels[1] = 4, labels[4] = 0, labels[9] = 10;
  const Tensor x = Tensor::from_vector(cpu_device(), {2, 6}, ids);
  const Tensor y = Tensor::from_vector(cpu_device(), {12}, labels);
  auto loss = [&] {
    net.forward(x);
    return net.backward(y);
  };
  loss();
  expect_gradients_match_differences(net, loss, 10);
  // Rows of ids never looked up get no gradient; an ignored label changes nothing.
  const std::vector<float> emb = net.params()[0]->grad.to_f32();
  for (int col = 0; col < 8; ++col) EXPECT_EQ(emb[static_cast<size_t>(2 * 8 + col)], 0.0f);
  labels[0] = 3;
  net.forward(x);
  const float with = net.backward(Tensor::from_vector(cpu_device(), {12}, labels));
  labels[0] = ignore_label;
  EXPECT_NE(with, loss());
}

// graph::fuse_attention on the CPU: each block's products and softmax become one attention node
// (no softmax left in the training graph), with the loss and every gradient of the written-out
// form; heads narrower than 32 stay written out.
TEST(Encoder, FusedAttentionEqualsAttentionWrittenOut) {
  const ModelSpec spec = load_model("encoder:vocab=11,seq=9,width=64,layers=2,heads=2,mlp=16");  // heads of 32
  std::vector<int32_t> ids(3 * 9), labels(3 * 9, ignore_label);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((i * 5) % 11);
  for (size_t i = 0; i < labels.size(); i += 4) labels[i] = static_cast<int32_t>(i % 11);
  const Tensor x = Tensor::from_vector(cpu_device(), {3, 9}, ids), y = Tensor::from_vector(cpu_device(), {27}, labels);
  std::vector<std::vector<float>> grads[2];
  float loss[2];
  for (int fused = 0; fused < 2; ++fused) {
    Network net(spec, {cpu_device()});
    net.init(5);
    net.set_fusion(fused == 1);
    net.forward(x);
    loss[fused] = net.backward(y);
    for (Param* p : net.params()) grads[fused].push_back(p->grad.to_f32());
    size_t attention = 0, softmax = 0;
    for (size_t i = 0; i < net.graph().nodes(); ++i) {
      attention += net.graph().node(i).op == &graph::opdef::attention;
      softmax += net.graph().node(i).op == &graph::opdef::softmax;
    }
    EXPECT_EQ(attention, fused ? 2u : 0u);
    EXPECT_EQ(softmax, fused ? 0u : 2u);
  }
  EXPECT_NEAR(loss[1], loss[0], 1e-5 * std::abs(loss[0]));
  Network narrow(load_model("encoder:vocab=11,seq=9,width=16,layers=1,heads=2,mlp=16"), {cpu_device()});
  narrow.set_fusion(true);
  narrow.prepare_batch(3);
  for (size_t i = 0; i < narrow.graph().nodes(); ++i) EXPECT_NE(narrow.graph().node(i).op, &graph::opdef::attention);
  for (size_t k = 0; k < grads[0].size(); ++k) test::expect_close(grads[1][k], grads[0][k], 1e-5, 1e-4, "gradient " + std::to_string(k));
}

// A corpus where every token follows from its neighbours (a repeating cycle): masked-token
// training learns to fill masks in, far above the 1-in-10 of guessing.
TEST(Encoder, MaskedTokenTrainingLearns) {
  TokenCorpus c;
  for (int i = 0; i < 640 * 16; ++i) c.ids.push_back(i % 10);
  c.vocab = 11, c.mask_id = 10, c.source = "a cycle of 10";
  const auto [train, test] = token_datasets(c, 16, 0.1);
  TrainConfig cfg = small("encoder:vocab=11,seq=16,width=32,layers=1,heads=2,mlp=64");
  cfg.sgd.kind = OptimizerKind::adamw;
  cfg.sgd.lr = 3e-3f;
  cfg.sgd.warmup_steps = 5;
  cfg.epochs = 8;
  Trainer t(cfg, train, test);
  const auto stats = t.run();
  expect_loss_fell(t.step_losses());
  EXPECT_GT(stats.back().test_accuracy, 0.9);  // (100% at the time of writing)
  std::printf("masked-token accuracy after %d epochs: %.1f%%\n", cfg.epochs, 100 * stats.back().test_accuracy);
}

TEST(Encoder, TrainerRefusesDataTheModelDoesNotRead) {
  // (Not structured bindings: the lambdas below capture them, which clang 14 cannot.)
  const auto data = token_datasets(synthetic_tokens(64 * 40, 11, 1), 16, 0.1);
  const Dataset &train = data.first, &test = data.second;
  test::expect_error([&] { Trainer(small("mlp"), train, test); }, ErrorKind::invalid_argument, {"reads images; the data is token sequences"});
  test::expect_error([&] { Trainer(small("encoder:vocab=11,seq=32,width=16,layers=1,heads=2,mlp=16"), train, test); },
                     ErrorKind::invalid_argument, {"takes sequences of 32 tokens; the data has 16"});
  test::expect_error([&] { Trainer(small("encoder:vocab=5,seq=16,width=16,layers=1,heads=2,mlp=16"), train, test); },
                     ErrorKind::invalid_argument, {"vocabulary (5) is smaller than the data's (11)"});
  test::expect_error([&] { Trainer(small("encoder:vocab=11,seq=16,width=16,layers=1,heads=2,mlp=16"), train_set(), test_set()); },
                     ErrorKind::invalid_argument, {"reads token ids; the data is images"});
}

}  // namespace
}  // namespace tandem::nn
