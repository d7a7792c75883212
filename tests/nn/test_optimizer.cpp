// The optimizers against their closed forms and a hand-computed reference (Adam, AdamW, on every
// device), masks under Adam, the warm-up schedule, global-norm clipping, and checkpoints of Adam's
// state: resumed bit for bit, refused by a run with another optimizer.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <numbers>

#include "../ops/harness.h"
#include "fixtures.h"
#include "tandem/error.h"
#include "tandem/nn/checkpoint.h"
#include "tandem/nn/network.h"
#include "tandem/nn/optimizer.h"
#include "tandem/nn/trainer.h"

namespace tandem::nn {
namespace {

// fc.weight [2, 3] (prunable: weight decay applies) and fc.bias [2] (no decay).
const char* const tiny_linear = R"({"input": [1, 1, 3], "classes": 2, "layers": [{"type": "linear", "out": 2}]})";

// Gradient k of the test: element i of parameter p at step t (t = 0: the constant one).
float test_gradient(size_t p, size_t i, int t) {
  const float sign = (i + p) % 2 == 0 ? 1.0f : -1.0f;
  return t == 0 ? sign * 0.1f * static_cast<float>(i + 1)
                : static_cast<float>(std::sin(0.7 * static_cast<double>(i + 3 * p) + 1.3 * t));
}

void set_gradients(std::vector<Param*>& params, int t) {
  for (size_t k = 0; k < params.size(); ++k) {
    std::vector<float> g(static_cast<size_t>(params[k]->value.numel()));
    for (size_t i = 0; i < g.size(); ++i) g[i] = test_gradient(k, i, t);
    params[k]->grad.copy_from_host(g.data());
  }
}

std::vector<const Tensor*> grads_of(const std::vector<Param*>& params) {
  std::vector<const Tensor*> g;
  for (Param* p : params) g.push_back(&p->grad);
  return g;
}

// With a constant gradient g and no weight decay, m_t = g(1 − β1^t) and v_t = g²(1 − β2^t), so
// the bias-corrected m̂ = g and v̂ = g²: every step moves w by lr·g/(|g| + eps). Without the
// correction (or with it off by a step) the first steps move about 3× further.
TEST(Adam, ConstantGradientMatchesTheClosedForm) {
  const ModelSpec spec = parse_model(tiny_linear);
  for (const Device& d : devices()) {
    SCOPED_TRACE(d.id());
    Network net(spec, {d});
    net.init(1);
    OptimizerConfig cfg;
    cfg.kind = OptimizerKind::adam;
    cfg.weight_decay = 0;
    Adam adam(cfg);
    std::vector<Param*> params = net.params();
    std::vector<std::vector<float>> w0;
    for (Param* p : params) w0.push_back(p->value.to_f32());
    const float lr = 0.01f;
    const double b1 = cfg.beta1, b2 = cfg.beta2, eps = cfg.eps;
    const int steps = 7;
    for (int t = 1; t <= steps; ++t) {
      set_gradients(params, 0);
      adam.step(net, params, grads_of(params), lr);
      ASSERT_EQ(adam.steps(), t);
      for (size_t k = 0; k < params.size(); ++k) {
        const std::vector<float> m = adam.state(params)[k][0].to_f32(), v = adam.state(params)[k][1].to_f32();
        for (size_t i = 0; i < m.size(); ++i) {
          const double g = test_gradient(k, i, 0);
          const double want_m = g * (1 - std::pow(b1, t)), want_v = g * g * (1 - std::pow(b2, t));
          EXPECT_NEAR(m[i], want_m, 1e-6 * std::abs(want_m)) << params[k]->name << " m at step " << t;
          EXPECT_NEAR(v[i], want_v, 1e-6 * want_v) << params[k]->name << " v at step " << t;
        }
      }
    }
    for (size_t k = 0; k < params.size(); ++k) {
      const std::vector<float> w = params[k]->value.to_f32();
      for (size_t i = 0; i < w.size(); ++i) {
        const double g = test_gradient(k, i, 0);
        EXPECT_NEAR(w[i], w0[k][i] - steps * lr * g / (std::abs(g) + eps), 1e-6) << params[k]->name << "[" << i << "]";
      }
    }
  }
}

// Adam (L2: wd·w added to the gradient) and AdamW (w ← w − lr·wd·w) over steps with changing
// gradients, against the textbook formulas in double; weight decay reaches the weight only.
TEST(Adam, AdamAndAdamWMatchAHandComputedReference) {
  const ModelSpec spec = parse_model(tiny_linear);
  std::vector<std::vector<float>> final_weight;
  for (OptimizerKind kind : {OptimizerKind::adam, OptimizerKind::adamw}) {
    for (const Device& d : devices()) {
      SCOPED_TRACE(std::string(optimizer_name(kind)) + " on " + d.id());
      Network net(spec, {d});
      net.init(2);
      OptimizerConfig cfg;
      cfg.kind = kind;
      cfg.weight_decay = 0.1f;
      cfg.beta1 = 0.8f;
      cfg.beta2 = 0.99f;
      cfg.eps = 1e-6f;
      std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
      std::vector<Param*> params = net.params();
      ASSERT_TRUE(params[0]->prunable && !params[1]->prunable);
      std::vector<std::vector<double>> w, m, v;
      for (Param* p : params) {
        const std::vector<float> x = p->value.to_f32();
        w.emplace_back(x.begin(), x.end());
        m.emplace_back(x.size(), 0.0);
        v.emplace_back(x.size(), 0.0);
      }
      const double b1 = cfg.beta1, b2 = cfg.beta2, eps = cfg.eps;
      for (int t = 1; t <= 5; ++t) {
        const double lr = 0.05 * t;  // a schedule's changing rate
        set_gradients(params, t);
        opt->step(net, params, grads_of(params), static_cast<float>(lr));
        for (size_t k = 0; k < params.size(); ++k) {
          const double wd = params[k]->prunable ? static_cast<double>(cfg.weight_decay) : 0.0;
          for (size_t i = 0; i < w[k].size(); ++i) {
            double g = test_gradient(k, i, t);
            if (kind == OptimizerKind::adamw)
              w[k][i] -= lr * wd * w[k][i];
            else
              g += wd * w[k][i];
            m[k][i] = b1 * m[k][i] + (1 - b1) * g;
            v[k][i] = b2 * v[k][i] + (1 - b2) * g * g;
            const double m_hat = m[k][i] / (1 - std::pow(b1, t)), v_hat = v[k][i] / (1 - std::pow(b2, t));
            w[k][i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
          }
        }
      }
      for (size_t k = 0; k < params.size(); ++k) {
        const std::vector<float> got = params[k]->value.to_f32();
        for (size_t i = 0; i < got.size(); ++i)
          EXPECT_NEAR(got[i], w[k][i], 2e-6) << params[k]->name << "[" << i << "]";
      }
      if (d == cpu_device()) final_weight.push_back(params[0]->value.to_f32());
    }
  }
  ASSERT_EQ(final_weight.size(), 2u);
  double differ = 0;  // the two decays are not the same optimizer
  for (size_t i = 0; i < final_weight[0].size(); ++i)
    differ = std::max(differ, double(std::abs(final_weight[0][i] - final_weight[1][i])));
  EXPECT_GT(differ, 1e-3);
}

// A pruned weight under Adam: its gradient is masked, its weight stays exactly zero, and its
// moments are zero after the step even where they were not before (pruned mid-run).
TEST(Adam, MasksKeepPrunedWeightsAndTheirMomentsZero) {
  const ModelSpec spec = parse_model(tiny_linear);
  for (const Device& d : devices()) {
    SCOPED_TRACE(d.id());
    Network net(spec, {d});
    net.init(3);
    OptimizerConfig cfg;
    cfg.kind = OptimizerKind::adamw;
    cfg.weight_decay = 0.05f;
    Adam adam(cfg);
    std::vector<Param*> params = net.params();
    Param& weight = *params[0];
    const std::vector<float> mask = {1, 0, 1, 0, 0, 1};
    std::vector<float> w = weight.value.to_f32();
    for (size_t i = 0; i < w.size(); ++i) w[i] *= mask[i];
    weight.value.copy_from_host(w.data());
    weight.mask = Tensor::from_vector(weight.value.device(), weight.value.shape(), mask);
    std::vector<std::vector<Tensor>>& st = adam.state(params);
    const std::vector<float> ones(mask.size(), 1.0f);
    st[0][0].copy_from_host(ones.data());
    st[0][1].copy_from_host(ones.data());
    for (int t = 1; t <= 3; ++t) {
      set_gradients(params, t);
      adam.step(net, params, grads_of(params), 0.01f);
    }
    const std::vector<float> after = weight.value.to_f32(), m = st[0][0].to_f32(), v = st[0][1].to_f32(),
                             g = weight.grad.to_f32();
    for (size_t i = 0; i < mask.size(); ++i) {
      if (mask[i] == 0.0f) {
        EXPECT_EQ(after[i], 0.0f) << "pruned weight " << i << " revived";
        EXPECT_EQ(m[i], 0.0f) << "pruned weight " << i << " keeps a first moment";
        EXPECT_EQ(v[i], 0.0f) << "pruned weight " << i << " keeps a second moment";
        EXPECT_EQ(g[i], 0.0f) << "pruned weight " << i << "'s gradient was not masked";
      } else {
        EXPECT_NE(after[i], w[i]) << "weight " << i << " did not move";
        EXPECT_GT(v[i], 0.0f);
      }
    }
  }
}

// Pruning during AdamW training: the checkpoint's weights and both moments are zero wherever the
// mask is, and the run still learns.
TEST(Adam, PrunedTrainingKeepsMasksInWeightsAndMoments) {
  const std::string dir = temp_dir("adamw-prune");
  TrainConfig c = small();
  c.sgd.kind = OptimizerKind::adamw;
  c.sgd.lr = 2e-3f;
  c.sgd.weight_decay = 0.01f;
  c.prune = parse_prune("magnitude:0.6");
  c.prune.start_epoch = 1;
  c.checkpoint_dir = dir;
  Trainer t(c, train_set(), test_set());
  const auto stats = t.run();
  EXPECT_GT(stats.back().test_accuracy, 0.7);
  const CheckpointData ck = read_checkpoint(dir + "/checkpoint.tdm");
  EXPECT_EQ(ck.find("velocity:fc1.weight"), nullptr) << "an Adam run saves no SGD velocity";
  int pruned = 0;
  for (Param* p : t.network().params()) {
    if (!p->prunable) continue;
    const auto floats = [&](const std::string& name) {
      const NamedTensor* n = ck.find(name);
      EXPECT_NE(n, nullptr) << name;
      std::vector<float> out(n ? n->bytes.size() / 4 : 0);
      if (n) std::memcpy(out.data(), n->bytes.data(), n->bytes.size());
      return out;
    };
    const std::vector<float> mask = floats("mask:" + p->name), w = floats("param:" + p->name),
                             m = floats("adam_m:" + p->name), v = floats("adam_v:" + p->name);
    ASSERT_EQ(mask.size(), w.size());
    ASSERT_EQ(m.size(), w.size());
    ASSERT_EQ(v.size(), w.size());
    for (size_t i = 0; i < mask.size(); ++i)
      if (mask[i] == 0.0f) {
        ++pruned;
        ASSERT_EQ(w[i], 0.0f) << p->name << " element " << i;
        ASSERT_EQ(m[i], 0.0f) << p->name << " element " << i;
        ASSERT_EQ(v[i], 0.0f) << p->name << " element " << i;
      }
  }
  EXPECT_GT(pruned, 1000);
  std::filesystem::remove_all(dir);
}

// lr·(t + 1)/W for the W warm-up steps, then the schedule over the steps that remain.
TEST(Schedule, WarmupRampsLinearlyThenRunsTheSchedule) {
  OptimizerConfig c;
  c.lr = 0.1f;
  c.schedule = Schedule::cosine;
  c.warmup_steps = 4;
  const int64_t total = 20, per_epoch = 5;
  EXPECT_FLOAT_EQ(learning_rate(c, 0, total, per_epoch), 0.025f);
  EXPECT_FLOAT_EQ(learning_rate(c, 1, total, per_epoch), 0.05f);
  EXPECT_FLOAT_EQ(learning_rate(c, 2, total, per_epoch), 0.075f);
  EXPECT_FLOAT_EQ(learning_rate(c, 3, total, per_epoch), 0.1f);
  EXPECT_FLOAT_EQ(learning_rate(c, 4, total, per_epoch), 0.1f);    // the cosine's start
  EXPECT_FLOAT_EQ(learning_rate(c, 12, total, per_epoch), 0.05f);  // its middle: 8 of the 16 remaining steps
  EXPECT_NEAR(learning_rate(c, 19, total, per_epoch), 0.1 * 0.5 * (1 + std::cos(std::numbers::pi * 15 / 16)), 1e-8);
  c.schedule = Schedule::constant;
  EXPECT_FLOAT_EQ(learning_rate(c, 1, total, per_epoch), 0.05f);
  EXPECT_FLOAT_EQ(learning_rate(c, 10, total, per_epoch), 0.1f);
  c.schedule = Schedule::step;  // 16 remaining steps: 3 epochs of 5, a drop every epoch, from the warm-up's end
  EXPECT_FLOAT_EQ(learning_rate(c, 8, total, per_epoch), 0.1f);
  EXPECT_FLOAT_EQ(learning_rate(c, 9, total, per_epoch), 0.01f);
  // Without warm-up, the schedules are as they were.
  c.warmup_steps = 0;
  c.schedule = Schedule::cosine;
  EXPECT_FLOAT_EQ(learning_rate(c, 0, total, per_epoch), 0.1f);
  EXPECT_FLOAT_EQ(learning_rate(c, 10, total, per_epoch), 0.05f);
  // A warm-up as long as the run.
  c.warmup_steps = 40;
  EXPECT_FLOAT_EQ(learning_rate(c, 19, total, per_epoch), 0.05f);
}

// The trainer takes the warm-up: a constant schedule's first steps run at lr·(t + 1)/W (plain
// SGD without momentum, so each step's weight change is exactly lr times its gradient).
TEST(Schedule, TrainerWarmsUp) {
  TrainConfig c = small();
  c.sgd.momentum = 0;
  c.sgd.weight_decay = 0;
  c.sgd.schedule = Schedule::constant;
  c.sgd.warmup_steps = 4;
  c.max_steps = 1;
  TrainConfig plain = c;
  plain.sgd.warmup_steps = 0;
  Trainer warm(c, train_set(), test_set()), cold(plain, train_set(), test_set());
  const auto before = weights(warm);
  warm.run();
  cold.run();
  const auto a = weights(warm), b = weights(cold);
  double moved_warm = 0, moved_cold = 0;
  for (size_t k = 0; k < a.size(); ++k)
    for (size_t i = 0; i < a[k].size(); ++i)
      moved_warm += std::abs(a[k][i] - before[k][i]), moved_cold += std::abs(b[k][i] - before[k][i]);
  EXPECT_NEAR(moved_warm / moved_cold, 0.25, 1e-3);
}

double host_norm(const std::vector<Param*>& params) {
  double sq = 0;
  for (Param* p : params) {
    const std::vector<float> g = p->grad.to_f32();
    std::vector<float> m = p->mask ? p->mask.to_f32() : std::vector<float>(g.size(), 1.0f);
    for (size_t i = 0; i < g.size(); ++i) sq += double(g[i] * m[i]) * double(g[i] * m[i]);
  }
  return std::sqrt(sq);
}

// Clipping scales every gradient by clip/‖g‖₂ (‖g‖₂ over all parameters, masked elements not
// counted), leaves gradients within the bound untouched, and returns the norm before clipping.
TEST(Clipping, ScalesToExactlyTheClipNorm) {
  const ModelSpec spec = parse_model(
      R"({"input": [1, 8, 8], "classes": 10, "layers": [{"type": "linear", "out": 300}, {"type": "linear", "out": 10}]})");
  for (const Device& d : devices()) {
    SCOPED_TRACE(d.id());
    Network net(spec, {d});
    net.init(4);
    std::vector<Param*> params = net.params();
    set_gradients(params, 2);
    std::vector<float> mask(static_cast<size_t>(params[0]->value.numel()), 1.0f);
    for (size_t i = 0; i < mask.size(); i += 3) mask[i] = 0.0f;
    params[0]->mask = Tensor::from_vector(params[0]->value.device(), params[0]->value.shape(), mask);
    const double norm = host_norm(params);
    std::vector<std::vector<float>> before;
    for (Param* p : params) before.push_back(p->grad.to_f32());
    // Within the bound: nothing changes (but the masked elements, now zero).
    EXPECT_NEAR(clip_grad_norm(net, params, grads_of(params), static_cast<float>(2 * norm)), norm, 1e-6 * norm);
    for (size_t k = 0; k < params.size(); ++k) {
      const std::vector<float> g = params[k]->grad.to_f32();
      for (size_t i = 0; i < g.size(); ++i) ASSERT_EQ(g[i], k == 0 ? before[k][i] * mask[i] : before[k][i]);
    }
    const float clip = static_cast<float>(norm / 7);
    EXPECT_NEAR(clip_grad_norm(net, params, grads_of(params), clip), norm, 1e-6 * norm);
    EXPECT_NEAR(host_norm(params), clip, 1e-6 * clip);
    for (size_t k = 0; k < params.size(); ++k) {
      const std::vector<float> g = params[k]->grad.to_f32();
      for (size_t i = 0; i < g.size(); ++i)
        ASSERT_NEAR(g[i], (k == 0 ? before[k][i] * mask[i] : before[k][i]) / 7.0, 1e-7) << k << "[" << i << "]";
    }
    EXPECT_NEAR(grad_norm(net, params, grads_of(params)), clip, 1e-6 * clip);
  }
}

// In training, the clipped step moves the weights by exactly lr·clip (plain SGD: Δw = −lr·g),
// where the unclipped step moves them further.
TEST(Clipping, TrainerClipsEachStep) {
  TrainConfig c = small();
  c.sgd.momentum = 0;
  c.sgd.weight_decay = 0;
  c.sgd.schedule = Schedule::constant;
  c.max_steps = 1;
  TrainConfig clipped = c;
  clipped.sgd.clip_norm = 0.05f;
  Trainer free_run(c, train_set(), test_set()), clipped_run(clipped, train_set(), test_set());
  const auto before = weights(free_run);
  free_run.run();
  clipped_run.run();
  const auto moved = [&](const std::vector<std::vector<float>>& after) {
    double sq = 0;
    for (size_t k = 0; k < after.size(); ++k)
      for (size_t i = 0; i < after[k].size(); ++i) sq += std::pow(double(after[k][i]) - before[k][i], 2);
    return std::sqrt(sq);
  };
  EXPECT_GT(moved(weights(free_run)), 2 * 0.05 * c.sgd.lr) << "the gradient was within the bound: pick a lower one";
  EXPECT_NEAR(moved(weights(clipped_run)), 0.05 * c.sgd.lr, 1e-3 * 0.05 * c.sgd.lr);
}

// AdamW with warm-up and clipping, stopped mid-epoch and resumed: the same losses and weights,
// bit for bit, as the unbroken run (the moments and Adam's step count are in the checkpoint).
TEST(Checkpoint, AdamWResumeIsBitIdentical) {
  const std::string dir = temp_dir("resume-adamw");
  TrainConfig c = small();
  c.sgd.kind = OptimizerKind::adamw;
  c.sgd.lr = 2e-3f;
  c.sgd.weight_decay = 0.01f;
  c.sgd.warmup_steps = 10;
  c.sgd.clip_norm = 1.0f;
  Trainer whole(c, train_set(), test_set());
  whole.run();

  c.checkpoint_dir = dir;
  c.checkpoint_every = 5;
  c.max_steps = 53;  // inside the second epoch (40 steps per epoch)
  std::vector<float> joined;
  {
    Trainer first(c, train_set(), test_set());
    first.run();
    joined = first.step_losses();
  }
  const CheckpointData ck = read_checkpoint(dir + "/checkpoint.tdm");
  EXPECT_EQ(nlohmann::json::parse(ck.header_json)["state"]["optimizer_steps"], 53);
  EXPECT_EQ(nlohmann::json::parse(ck.header_json)["config"]["optimizer"], "adamw");
  EXPECT_NE(ck.find("adam_m:fc1.weight"), nullptr);
  EXPECT_NE(ck.find("adam_v:fc2.bias"), nullptr);
  c.max_steps = 0;
  c.resume = true;
  Trainer second(c, train_set(), test_set());
  second.run();
  EXPECT_TRUE(second.finished());
  joined.insert(joined.end(), second.step_losses().begin(), second.step_losses().end());
  ASSERT_EQ(joined.size(), whole.step_losses().size());
  for (size_t i = 0; i < joined.size(); ++i) ASSERT_EQ(joined[i], whole.step_losses()[i]) << "step " << i;
  EXPECT_EQ(weights(second), weights(whole));
  std::filesystem::remove_all(dir);
}

// A checkpoint of one optimizer does not resume under another: one line naming both.
TEST(Checkpoint, AnotherOptimizerIsRefused) {
  const std::string dir = temp_dir("resume-other-optimizer");
  TrainConfig c = small();
  c.epochs = 1;
  c.checkpoint_dir = dir;
  c.max_steps = 3;
  Trainer(c, train_set(), test_set()).run();
  c.max_steps = 0;
  c.resume = true;
  const auto refused = [&](const TrainConfig& cfg, const std::string& fragment) {
    try {
      Trainer t(cfg, train_set(), test_set());
      ADD_FAILURE() << "resumed; expected '" << fragment << "'";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(fragment), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  };
  TrainConfig adamw = c;
  adamw.sgd.kind = OptimizerKind::adamw;
  refused(adamw, "was made with optimizer = \"sgd\", this run has \"adamw\"");
  TrainConfig warm = c;
  warm.sgd.warmup_steps = 5;
  refused(warm, "was made with warmup_steps = 0, this run has 5");
  TrainConfig clipped = c;
  clipped.sgd.clip_norm = 2;
  refused(clipped, "was made with clip_norm = 0.0, this run has 2.0");

  // A checkpoint from before the optimizer settings were recorded was made with SGD: it resumes
  // under SGD, and an Adam run refuses it by the same message.
  const std::string path = dir + "/checkpoint.tdm";
  CheckpointData old = read_checkpoint(path);
  nlohmann::json h = nlohmann::json::parse(old.header_json);
  for (const char* key : {"optimizer", "beta1", "beta2", "eps", "warmup_steps", "clip_norm"}) h["config"].erase(key);
  h["state"].erase("optimizer_steps");
  old.header_json = h.dump();
  write_checkpoint(path, old);
  refused(adamw, "was made with optimizer = \"sgd\", this run has \"adamw\"");
  Trainer resumed(c, train_set(), test_set());
  resumed.run();
  EXPECT_TRUE(resumed.finished());

  // The other way: Adam's checkpoint under AdamW, and under SGD.
  std::filesystem::remove_all(dir);
  TrainConfig adam = small();
  adam.epochs = 1;
  adam.checkpoint_dir = dir;
  adam.max_steps = 3;
  adam.sgd.kind = OptimizerKind::adam;
  Trainer(adam, train_set(), test_set()).run();
  refused(adamw, "was made with optimizer = \"adam\", this run has \"adamw\"");
  refused(c, "was made with optimizer = \"adam\", this run has \"sgd\"");
  std::filesystem::remove_all(dir);
}

TEST(Optimizer, BadSettingsAreRefusedNamingThem) {
  const auto refused = [](const std::function<void(OptimizerConfig&)>& edit, const std::string& fragment) {
    TrainConfig c = small();
    c.sgd.kind = OptimizerKind::adam;
    edit(c.sgd);
    test::expect_error([&] { Trainer(c, train_set(), test_set()); }, ErrorKind::invalid_argument, {fragment});
  };
  refused([](OptimizerConfig& o) { o.beta1 = 1; }, "beta1 = 1 is not in [0, 1)");
  refused([](OptimizerConfig& o) { o.beta2 = -0.5f; }, "beta2 = -0.5 is not in [0, 1)");
  refused([](OptimizerConfig& o) { o.eps = 0; }, "eps = 0 is not a finite number > 0");
  refused([](OptimizerConfig& o) { o.warmup_steps = -1; }, "warmup_steps = -1 is negative");
  refused([](OptimizerConfig& o) { o.clip_norm = -1; }, "clip_norm = -1 is not a finite number ≥ 0");
  refused([](OptimizerConfig& o) { o.clip_norm = NAN; }, "clip_norm = nan is not a finite number");
  refused([](OptimizerConfig& o) { o.lr = 0; }, "lr = 0 is not a finite number > 0");
  EXPECT_EQ(parse_optimizer("adamw"), OptimizerKind::adamw);
  test::expect_error([] { parse_optimizer("lamb"); }, {"unknown optimizer 'lamb' (sgd, adam, adamw)"});
  test::expect_error([] { Adam(OptimizerConfig{}); }, {"not sgd"});
}

}  // namespace
}  // namespace tandem::nn
