// The graph IR: bad graphs are refused naming the node; autodiff matches finite differences on
// graphs with fan-out and fan-in, on every device; the memory planner never gives two live
// values one buffer (a property over random graphs) and the planned run equals an unplanned one.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "../ops/harness.h"
#include "tandem/graph/autodiff.h"
#include "tandem/graph/executor.h"
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

using test::expect_error;

TEST(Graph, RefusesInputsThatDoNotFitNamingTheNode) {
  Graph g;
  const ValueId x = g.input("x", {2, 3, 8, 8});
  const ValueId w = g.param("w", {4, 5, 3, 3});
  expect_error([&] { conv2d(g, x, w, {}, "conv1"); }, ErrorKind::invalid_argument,
               {"node conv1 (conv2d)", "expect 5 input channels, x has 3", "[2,3,8,8]"});
  const ValueId a = g.input("a", {2, 4}), b = g.input("b", {3, 4});
  expect_error([&] { add(g, a, b, "sum"); }, {"node sum (broadcast_binary)", "shapes [2,4] and [3,4] do not broadcast"});
  expect_error([&] { matmul(g, a, b, false, false, "mm"); }, {"node mm (matmul)", "inner dimensions differ"});
  expect_error([&] { g.add(opdef::relu, {a, b}, {}, "r"); }, {"node r (relu)", "takes 1 inputs, given 2"});
  expect_error([&] { g.add(opdef::relu, {99}, {}, "r"); }, {"node r (relu)", "does not exist"});
  expect_error([&] { reshape(g, a, {3, 3}, "view"); }, {"node view (reshape)", "cannot view 8 elements as [3,3]"});
  EXPECT_EQ(g.nodes(), 0u);  // nothing refused was added
}

TEST(Graph, ValidateFindsWhatAPassBroke) {
  Graph g;
  const ValueId x = g.input("x", {2, 4});
  const ValueId y = relu(g, x, "r1");
  const ValueId z = relu(g, y, "r2");
  g.output("z", z);
  g.validate();
  g.node(0).inputs[0] = z;  // r1 now reads what r2 computes later: a cycle
  expect_error([&] { g.validate(); }, {"node r1 (relu)", "before any node computes it"});
}

TEST(Graph, DeadNodesAreRemoved) {
  Graph g;
  const ValueId x = g.input("x", {2, 4});
  const ValueId used = relu(g, x, "used");
  relu(g, relu(g, x, "dead1"), "dead2");
  g.output("y", relu(g, used, "out"));
  EXPECT_EQ(g.remove_dead_nodes(), 2u);
  EXPECT_EQ(g.nodes(), 2u);
  g.validate();
  EXPECT_EQ(g.node(1).name, "out");
}

// ---------------------------------------------------------------------------------------------
// Autodiff against central finite differences, on every device that has the graph's kernels.

class GraphGradients : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { device = find_device(GetParam()); }
  Device device;
};

struct Case {
  Graph g{cpu_device()};
  ValueId loss = no_value, labels = no_value;
  std::vector<ValueId> params;
  std::vector<ref::Host> host;  // each param's values
};

// Runs forward + loss + backward: the loss, and each param's gradient downloaded.
struct Run {
  std::vector<Tensor> values;  // (before exec, which prepare() fills them for)
  std::vector<ValueId> grads;
  std::map<DeviceImpl*, Stream> streams;
  Executor exec;
  Run(Case& c, const Device& d, const std::vector<int32_t>& labels)
      : exec(prepare(c, d), [this](const Device& dev) -> Stream& {
          return streams.try_emplace(dev.impl(), Stream(dev)).first->second;
        }) {
    exec.bind(c.labels, test::up_i32(d, {static_cast<int64_t>(labels.size())}, labels));
  }
  Graph prepare(Case& c, const Device& d) {
    Graph g = c.g;
    for (size_t k = 0; k < c.params.size(); ++k) {
      values.push_back(test::up(d, c.host[k]));
      g.value(c.params[k]).bound = values.back();
    }
    g.output("loss", c.loss);
    grads = differentiate(g, c.loss, c.params);
    for (ValueId v : grads) g.output(g.value(v).name, v);
    g.validate();
    return g;
  }
  float loss(ValueId v) {
    exec.run(0, exec.graph().nodes());
    for (auto& [impl, s] : streams) s.synchronize();
    float l = 0;
    exec.tensor(v).copy_to_host(&l);
    return l;
  }
};

bool has_kernels(const Graph& g, const Device& d, std::string* missing) {
  for (size_t i = 0; i < g.nodes(); ++i)
    for (const OpDesc* op : g.node(i).op->kernels)
      if (!d.supports(*op)) {
        *missing = op->name;
        return false;
      }
  return true;
}

void check_against_differences(Case& c, const Device& d, const std::vector<int32_t>& labels, double tol) {
  c.g.set_device(d);
  for (size_t v = 0; v < c.g.values(); ++v) c.g.value(static_cast<ValueId>(v)).device = d;
  for (size_t i = 0; i < c.g.nodes(); ++i) c.g.node(i).device = d;
  Run run(c, d, labels);
  std::string missing;
  if (!has_kernels(run.exec.graph(), d, &missing)) GTEST_SKIP() << d.id() << " has no kernel for " << missing;
  run.loss(c.loss);
  for (size_t k = 0; k < c.params.size(); ++k) {
    const std::vector<float> analytic = test::down(run.exec.tensor(run.grads[k])).v;
    ref::Host& h = c.host[k];
    size_t bad = 0;
    for (size_t i = 0; i < h.v.size(); ++i) {
      const float keep = h.v[i], eps = 1e-3f;
      h.v[i] = keep + eps;
      run.values[k].copy_from_host(h.v.data());
      const double plus = run.loss(c.loss);
      h.v[i] = keep - eps;
      run.values[k].copy_from_host(h.v.data());
      const double minus = run.loss(c.loss);
      h.v[i] = keep;
      run.values[k].copy_from_host(h.v.data());
      const double fd = (plus - minus) / (2.0 * eps);
      if (std::abs(fd - analytic[i]) > tol * (1.0 + std::abs(fd))) {
        if (bad++ < 3)
          ADD_FAILURE() << c.g.value(c.params[k]).name << "[" << i << "]: autodiff " << analytic[i] << ", differences "
                        << fd;
      }
    }
    EXPECT_EQ(bad, 0u) << c.g.value(c.params[k]).name;
  }
}

// A parameter used twice (with and without a transpose), an activation read three times, two
// merges: every gradient is a sum. One parameter does not reach the loss: its gradient is zero.
TEST_P(GraphGradients, DenseFanOutAndFanIn) {
  Case c;
  Graph& g = c.g;
  c.params = {g.param("w1", {5, 6}), g.param("b1", {5}), g.param("w2", {5, 5}), g.param("unused", {3})};
  c.host = {ref::random({5, 6}, 1), ref::random({5}, 2), ref::random({5, 5}, 3), ref::random({3}, 4)};
  const ValueId input = g.param("x", {4, 6});  // the input as a bound value, checked too
  const ValueId h =
      relu(g, bias_add(g, matmul(g, input, c.params[0], false, true, "fc1"), c.params[1], "fc1.bias"), "r");
  const ValueId a = matmul(g, h, c.params[2], false, true, "a");
  const ValueId b = matmul(g, h, c.params[2], false, false, "b");
  const ValueId s = add(g, add(g, a, b, "ab"), h, "residual");
  c.labels = g.input("labels", {4}, DType::i32);
  c.loss = softmax_xent(g, s, c.labels, "loss")[0];
  c.params.push_back(input);
  c.host.push_back(ref::random({4, 6}, 5, -2.0f, 2.0f));
  check_against_differences(c, device, {0, 3, 1, 4}, 2e-3);
  Graph probe = c.g;
  const auto grads = differentiate(probe, c.loss, c.params);
  EXPECT_EQ(probe.node(static_cast<size_t>(probe.value(grads[3]).producer)).op, &opdef::zeros);
}

// Convolutions with a residual merge, pooling and a flatten view before the classifier.
TEST_P(GraphGradients, ConvResidualPoolFlatten) {
  Case c;
  Graph& g = c.g;
  c.params = {g.param("x", {2, 2, 6, 6}), g.param("c1", {3, 2, 3, 3}), g.param("c2", {3, 3, 3, 3}),
              g.param("fc", {4, 27})};
  c.host = {ref::random({2, 2, 6, 6}, 11), ref::random({3, 2, 3, 3}, 12, -0.5f, 0.5f),
            ref::random({3, 3, 3, 3}, 13, -0.5f, 0.5f), ref::random({4, 27}, 14, -0.5f, 0.5f)};
  const ValueId r = relu(g, conv2d(g, c.params[0], c.params[1], {1, 1, 1, 1}, "conv1"), "relu1");
  const ValueId s = add(g, conv2d(g, r, c.params[2], {1, 1, 1, 1}, "conv2"), r, "shortcut");
  const ValueId p = maxpool2d(g, s, {2, 2}, "pool")[0];
  const ValueId logits = matmul(g, flatten(g, p, "flat"), c.params[3], false, true, "fc");
  c.labels = g.input("labels", {2}, DType::i32);
  c.loss = softmax_xent(g, logits, c.labels, "loss")[0];
  check_against_differences(c, device, {1, 3}, 3e-3);
}

// A transformer block's ops in one graph (issue 25): a class token expanded over the batch and
// concatenated, a broadcast position embedding, layer norm, two-head attention (batched matmuls,
// scaled softmax, permutes, slices), a GELU MLP, a residual, then the class token's logits.
TEST_P(GraphGradients, TransformerBlock) {
  Case c;
  Graph& g = c.g;
  const int64_t n = 2, t = 4, d = 6, h = 2, dh = 3;
  c.params = {g.param("x", {n, t, d}),      g.param("cls", {1, 1, d}),  g.param("pos", {1, t + 1, d}),
              g.param("ln.g", {d}),         g.param("ln.b", {d}),       g.param("wqkv", {3 * d, d}),
              g.param("wo", {d, d}),        g.param("w1", {8, d}),      g.param("w2", {d, 8}),
              g.param("head", {3, d}),      g.param("scale", {1, d})};
  uint32_t seed = 60;
  for (ValueId p : c.params) c.host.push_back(ref::random(g.value(p).shape, ++seed, -0.8f, 0.8f));
  const ValueId tokens = add(g, concat(g, expand(g, c.params[1], {n, 1, d}, "cls.expand"), c.params[0], 1, "cls"),
                             c.params[2], "pos");
  const int64_t T = t + 1;
  const ValueId ln = layernorm(g, tokens, c.params[3], c.params[4], {}, "ln");
  const ValueId qkv = matmul(g, reshape(g, ln, {n * T, d}, "rows"), c.params[5], false, true, "qkv");
  const ValueId heads = reshape(g, permute(g, reshape(g, qkv, {n, T, 3, h, dh}, "split"), {2, 0, 3, 1, 4}, "heads"),
                                {3, n * h, T, dh}, "qkv3");
  auto part = [&](int i) { return reshape(g, slice(g, heads, 0, i, 1, "part" + std::to_string(i)), {n * h, T, dh}, "view" + std::to_string(i)); };
  const ValueId probs = softmax(g, matmul(g, part(0), part(1), false, true, "scores"), {-1, 0.5f}, "softmax");
  const ValueId ctx = permute(g, reshape(g, matmul(g, probs, part(2), false, false, "ctx"), {n, h, T, dh}, "ctx4"), {0, 2, 1, 3}, "join");
  const ValueId att = matmul(g, reshape(g, ctx, {n * T, d}, "ctx.rows"), c.params[6], false, true, "out");
  const ValueId x1 = add(g, reshape(g, tokens, {n * T, d}, "tok.rows"), att, "residual");
  const ValueId mlp = matmul(g, activation(g, matmul(g, x1, c.params[7], false, true, "fc1"), Activation::gelu, "gelu"),
                             c.params[8], false, true, "fc2");
  const ValueId x2 = mul(g, add(g, x1, mlp, "residual2"), c.params[10], "gain");  // a broadcast product
  const ValueId first = reshape(g, slice(g, reshape(g, x2, {n, T, d}, "seq"), 1, 0, 1, "cls_out"), {n, d}, "cls.flat");
  c.labels = g.input("labels", {n}, DType::i32);
  c.loss = softmax_xent(g, matmul(g, activation(g, first, Activation::tanh, "tanh"), c.params[9], false, true, "head"),
                        c.labels, "loss")[0];
  check_against_differences(c, device, {2, 0}, 3e-3);
}

INSTANTIATE_TEST_SUITE_P(AllDevices, GraphGradients, ::testing::ValuesIn(test::device_ids()),
                         [](const auto& info) { return test::param_name(info.param); });

// The fusion pass changes no value: outputs, loss and gradients are bit for bit those of the
// unfused graph (each fused kernel adds, normalizes and takes the max exactly as the pair does).
// Training (batch statistics, with the backward pass) and inference (running statistics).
void expect_fusion_changes_nothing(bool train) {
  const std::vector<Shape> shapes{{2, 3, 6, 6}, {4, 3, 3, 3}, {4}, {5, 64}, {5}, {4}, {4}};
  std::vector<Tensor> bound;
  uint32_t seed = 40;
  for (const Shape& s : shapes) bound.push_back(test::up(cpu_device(), ref::random(s, ++seed, 0.5f, 1.5f)));
  bound[0] = test::up(cpu_device(), ref::random(shapes[0], 40));
  auto build = [&](bool fuse) {
    Graph g;
    std::vector<ValueId> p;
    for (size_t k = 0; k < shapes.size(); ++k) {
      p.push_back(g.param("p" + std::to_string(k), shapes[k]));
      g.value(p.back()).bound = bound[k];
    }
    // Running statistics: a fresh pair per graph (training updates them in place).
    const ValueId rm = g.state("rm", {4}), rv = g.state("rv", {4});
    g.value(rm).bound = test::up(cpu_device(), ref::random({4}, 7, -0.1f, 0.1f));
    g.value(rv).bound = test::up(cpu_device(), ref::random({4}, 8, 0.5f, 2.0f));
    const ValueId h = relu(g, bias_add(g, conv2d(g, p[0], p[1], {1, 1, 0, 0}, "conv"), p[2], "conv.bias"), "relu");
    const ValueId bn = train ? batchnorm_train(g, h, p[5], p[6], rm, rv, {}, "bn")
                             : batchnorm_infer(g, h, p[5], p[6], rm, rv, {}, "bn");
    const ValueId merged = relu(g, add(g, relu(g, bn, "bn.relu"), h, "merge"), "merge.relu");
    const ValueId side = relu(g, merged, "twice");  // a ReLU of a ReLU: nothing to fuse
    const ValueId logits =
        relu(g, bias_add(g, matmul(g, flatten(g, side, "flat"), p[3], false, true, "fc"), p[4], "fc.bias"), "out");
    g.output("logits", logits);
    EXPECT_EQ(fuse ? fuse_relu(g) : 0u, fuse ? 4u : 0u);
    const ValueId labels = g.input("labels", {2}, DType::i32);
    std::vector<ValueId> results{logits};
    if (train) {
      const ValueId loss = softmax_xent(g, logits, labels, "loss")[0];
      g.output("loss", loss);
      const auto grads = differentiate(g, loss, p);
      for (size_t k = 0; k < grads.size(); ++k) g.output("g" + std::to_string(k), grads[k]);
      results.push_back(loss);
      results.insert(results.end(), grads.begin(), grads.end());
    }
    g.validate();
    return std::make_tuple(g, labels, results);
  };
  std::vector<std::vector<float>> results[2];
  for (int fuse = 0; fuse < 2; ++fuse) {
    auto [g, labels, values] = build(fuse == 1);
    if (fuse == 1) {
      size_t bias_relus = 0, add_relus = 0, bn_relus = 0, relus = 0;
      for (size_t i = 0; i < g.nodes(); ++i) {
        const Node& n = g.node(i);
        bias_relus += n.op == &opdef::bias_relu, add_relus += n.op == &opdef::add_relu, relus += n.op == &opdef::relu;
        bn_relus += n.name == "bn" && n.attrs.i("relu") == 1;
      }
      EXPECT_EQ(std::make_tuple(bias_relus, add_relus, bn_relus, relus), std::make_tuple(2u, 1u, 1u, 1u)) << g.str();
    }
    Stream s(cpu_device());
    Executor exec(g, [&](const Device&) -> Stream& { return s; });
    exec.bind(labels, test::up_i32(cpu_device(), {2}, {1, 3}));
    exec.run(0, exec.graph().nodes());
    for (ValueId v : values) results[fuse].push_back(test::down(exec.tensor(v)).v);
  }
  EXPECT_EQ(results[0], results[1]);
}

TEST(Passes, FusedReluEqualsThePairInTraining) { expect_fusion_changes_nothing(true); }
TEST(Passes, FusedReluEqualsThePairInInference) { expect_fusion_changes_nothing(false); }

// A convolution's tail, bias + ReLU + max pool, fused into one node (on fpga-sim the FPGA's
// fused core) gives the unfused graph's logits, loss and gradients bit for bit, on every device
// that has the fused op.
class PoolFusion : public ::testing::TestWithParam<std::string> {};

TEST_P(PoolFusion, FusedBiasReluPoolEqualsTheThreeOps) {
  const Device device = find_device(GetParam());
  if (!device.supports(tandem::opdesc::bias_relu_maxpool2d))
    GTEST_SKIP() << device.id() << " has no bias_relu_maxpool2d";
  const std::vector<Shape> shapes{{2, 3, 8, 8}, {4, 3, 3, 3}, {4}, {5, 64}};
  std::vector<Tensor> bound;
  uint32_t seed = 80;
  for (const Shape& s : shapes) bound.push_back(test::up(device, ref::random(s, ++seed)));
  std::vector<std::vector<float>> results[2];
  for (int fuse = 0; fuse < 2; ++fuse) {
    Graph g(device);
    std::vector<ValueId> p;
    for (size_t k = 0; k < shapes.size(); ++k) {
      p.push_back(g.param("p" + std::to_string(k), shapes[k]));
      g.value(p.back()).bound = bound[k];
    }
    const ValueId h = relu(g, bias_add(g, conv2d(g, p[0], p[1], {1, 1, 1, 1}, "conv"), p[2], "conv.bias"), "relu");
    const ValueId pooled = maxpool2d(g, h, {2, 2}, "pool")[0];
    const ValueId logits = matmul(g, flatten(g, pooled, "flat"), p[3], false, true, "fc");
    g.output("logits", logits);
    EXPECT_EQ(fuse ? fuse_bias_relu_pool(g) : 0u, fuse ? 1u : 0u);
    if (fuse) {
      EXPECT_EQ(fuse_relu(g), 0u);  // nothing left for it
      std::map<std::string, int> ops;
      for (size_t i = 0; i < g.nodes(); ++i) ++ops[g.node(i).op->name];
      EXPECT_EQ(std::make_tuple(ops["bias_relu_maxpool2d"], ops["bias_add"], ops["relu"], ops["maxpool2d"]),
                std::make_tuple(1, 0, 0, 0))
          << g.str();
    }
    const ValueId labels = g.input("labels", {2}, DType::i32);
    const ValueId loss = softmax_xent(g, logits, labels, "loss")[0];
    g.output("loss", loss);
    const auto grads = differentiate(g, loss, p);
    for (size_t k = 0; k < grads.size(); ++k) g.output("g" + std::to_string(k), grads[k]);
    g.validate();
    Stream s(device);
    Executor exec(g, [&](const Device&) -> Stream& { return s; });
    exec.bind(labels, test::up_i32(device, {2}, {1, 3}));
    exec.run(0, exec.graph().nodes());
    for (ValueId v : std::vector<ValueId>{logits, loss}) results[fuse].push_back(test::down(exec.tensor(v)).v);
    for (ValueId v : grads) results[fuse].push_back(test::down(exec.tensor(v)).v);
  }
  EXPECT_EQ(results[0], results[1]);
}

INSTANTIATE_TEST_SUITE_P(AllDevices, PoolFusion, ::testing::ValuesIn(test::device_ids()),
                         [](const auto& info) { return test::param_name(info.param); });

// Folding: conv -> BN (-> ReLU), conv + bias -> BN (depthwise), each on every device with the
// fold kernel, give the unfolded graph's outputs to rounding; a convolution whose output is also
// read elsewhere keeps its normalization.
class Folding : public ::testing::TestWithParam<std::string> {};

TEST_P(Folding, FoldedBatchNormGivesTheSameOutputs) {
  const Device device = find_device(GetParam());
  if (!device.supports(tandem::opdesc::batchnorm_fold)) GTEST_SKIP() << device.id() << " has no batchnorm_fold";
  std::map<std::string, Tensor> bound;
  uint32_t seed = 60;
  const auto bind = [&](Graph& g, ValueId v, float lo, float hi) {
    const std::string& name = g.value(v).name;
    if (!bound.count(name)) bound[name] = test::up(device, ref::random(g.value(v).shape, ++seed, lo, hi));
    g.value(v).bound = bound[name];
    return v;
  };
  const auto build = [&](bool fold) {
    Graph g(device);
    const ValueId x = bind(g, g.input("x", {2, 3, 8, 8}), -1, 1);
    const auto bn = [&](ValueId in, const std::string& name) {
      const auto channel = [&](const char* what, float lo, float hi) {
        return bind(g, g.param(name + "." + what, {4}), lo, hi);
      };
      const ValueId gamma = channel("gamma", 0.5f, 2), beta = channel("beta", -1, 1);
      const ValueId mean = bind(g, g.state(name + ".mean", {4}), -0.5f, 0.5f);
      const ValueId var = bind(g, g.state(name + ".var", {4}), 0.3f, 3);
      return batchnorm_infer(g, in, gamma, beta, mean, var, {}, name);
    };
    const ValueId w1 = bind(g, g.param("w1", {4, 3, 3, 3}), -1, 1), w2 = bind(g, g.param("w2", {4, 1, 3, 3}), -1, 1);
    const ValueId b2 = bind(g, g.param("b2", {4}), -1, 1), w3 = bind(g, g.param("w3", {4, 4, 1, 1}), -1, 1);
    const ValueId a = relu(g, bn(conv2d(g, x, w1, {1, 1, 1, 1}, "conv1"), "bn1"), "relu1");
    Conv2dParams depthwise{1, 1, 1, 1};
    depthwise.groups = 4;
    const ValueId b = bn(bias_add(g, conv2d(g, a, w2, depthwise, "conv2"), b2, "conv2.bias"), "bn2");
    const ValueId c3 = conv2d(g, b, w3, {}, "conv3");
    const ValueId c = add(g, bn(c3, "bn3"), c3, "merge");  // conv3's output is read twice: not folded
    g.output("y", c);
    if (fold) {
      EXPECT_EQ(fuse_relu(g), 1u);
      EXPECT_EQ(fold_batchnorm(g), 2u);
    }
    g.validate();
    return g;
  };
  std::vector<float> results[2];
  for (int fold = 0; fold < 2; ++fold) {
    Graph g = build(fold == 1);
    if (fold == 1) {
      std::map<std::string, int> ops;
      for (size_t i = 0; i < g.nodes(); ++i) ++ops[g.node(i).op->name];
      EXPECT_EQ(ops["batchnorm_infer"], 1) << g.str();
      EXPECT_EQ(ops["batchnorm_fold"], 2) << g.str();
      EXPECT_EQ(ops["bias_relu"], 1) << g.str();  // bn1's fused ReLU, now the folded bias's
      EXPECT_EQ(ops["bias_add"], 1) << g.str();   // bn2's; conv2's own bias folded into it
      EXPECT_EQ(ops["relu"], 0) << g.str();
    }
    Stream s(device);
    Executor exec(g, [&](const Device&) -> Stream& { return s; });
    exec.run(0, exec.graph().nodes());
    results[fold] = test::down(exec.tensor(exec.graph().output("y"))).v;
  }
  test::expect_close(results[1], results[0], 1e-5, 1e-5, "folded");
}

INSTANTIATE_TEST_SUITE_P(AllDevices, Folding, ::testing::ValuesIn(test::device_ids()),
                         [](const auto& info) { return test::param_name(info.param); });

TEST(Autodiff, RefusesAnOpWithoutBackwardRuleOnTheGradientPath) {
  Graph g;
  const ValueId w = g.param("w", {2, 3, 4, 4});
  const ValueId dy = g.input("dy", {2, 3, 4, 4});
  const ValueId y = g.add1(opdef::relu_backward, {w, dy}, {}, "odd");  // no backward rule
  const ValueId labels = g.input("labels", {2}, DType::i32);
  const ValueId loss = softmax_xent(g, flatten(g, y, "flat"), labels, "loss")[0];
  expect_error([&] { differentiate(g, loss, {w}); }, ErrorKind::unsupported,
               {"node odd (relu_backward)", "no backward rule"});
}

// ---------------------------------------------------------------------------------------------
// The memory planner, over random graphs.

struct Random {
  Graph g;
  std::vector<ValueId> inputs;
};

// Element-wise chains and merges over [4, 8] values, with views, in-place candidates and
// matmuls, and a few of the values named as outputs.
Random random_graph(uint32_t seed) {
  std::mt19937 rng(seed);
  Random r;
  Graph& g = r.g;
  const ValueId w = g.param("p", {8, 8}), bias = g.param("bias", {8});
  std::vector<ValueId> live{g.input("x", {4, 8})};
  r.inputs = {live[0], w, bias};
  const int n = 8 + static_cast<int>(rng() % 24);
  auto pick = [&] { return live[rng() % live.size()]; };
  for (int i = 0; i < n; ++i) {
    const std::string name = "n" + std::to_string(i);
    ValueId v;
    switch (rng() % 6) {
      case 0:
        v = relu(g, pick(), name);
        break;
      case 1:
        v = add(g, pick(), pick(), name);
        break;
      case 2:
        v = bias_add(g, pick(), bias, name);
        break;
      case 3:
        v = matmul(g, pick(), w, false, rng() % 2 == 0, name);
        break;
      case 4:
        v = reshape(g, reshape(g, pick(), {8, 4}, name + ".t"), {4, 8}, name);
        break;
      default:
        v = copy(g, pick(), name);
        break;
    }
    live.push_back(v);
  }
  for (int k = 0; k < 3; ++k) g.output("out" + std::to_string(k), live[1 + rng() % (live.size() - 1)]);
  g.output("last", live.back());
  g.remove_dead_nodes();
  return r;
}

// Checks the plan against liveness computed here, independently: two values in one slot are
// never needed at once, unless one was written in place of the other at its last read.
void check_plan(const Graph& g, const MemoryPlan& p, uint32_t seed) {
  const auto readers = g.consumers();
  std::vector<int> def(g.values(), -1), end(g.values(), -1);
  for (size_t v = 0; v < g.values(); ++v) {
    def[v] = g.value(static_cast<ValueId>(v)).producer;
    end[v] = def[v];
    for (int r : readers[v]) end[v] = std::max(end[v], r);
    if (g.is_output(static_cast<ValueId>(v))) end[v] = static_cast<int>(g.nodes());
  }
  // A view's memory is its base's: the base must hold while the view is read.
  for (size_t i = g.nodes(); i-- > 0;)
    if (g.node(i).op->view) {
      const size_t base = static_cast<size_t>(g.node(i).inputs[0]), view = static_cast<size_t>(g.node(i).outputs[0]);
      end[base] = std::max(end[base], end[view]);
    }
  for (size_t u = 0; u < g.values(); ++u)
    for (size_t v = u + 1; v < g.values(); ++v) {
      if (p.slot[u] < 0 || p.slot[u] != p.slot[v]) continue;
      const size_t early = def[u] <= def[v] ? u : v, late = early == u ? v : u;
      const Node& writer = g.node(static_cast<size_t>(def[late]));
      if (writer.op->view && g.node(static_cast<size_t>(def[late])).inputs[0] == static_cast<ValueId>(early)) continue;
      bool in_place = false;
      for (const auto& [o, in] : writer.op->in_place)
        in_place = in_place || (writer.outputs[static_cast<size_t>(o)] == static_cast<ValueId>(late) &&
                                p.root[static_cast<size_t>(writer.inputs[static_cast<size_t>(in)])] == p.root[early]);
      if (in_place && p.root[early] == p.root[late]) {
        EXPECT_LE(end[early], def[late]) << "seed " << seed << ": " << g.value(static_cast<ValueId>(late)).name
                                         << " overwrites " << g.value(static_cast<ValueId>(early)).name
                                         << " before its last read";
        continue;
      }
      if (p.root[early] == p.root[late]) continue;  // the same memory by a chain checked at its links
      EXPECT_LT(end[early], def[late]) << "seed " << seed << ": " << g.value(static_cast<ValueId>(u)).name << " and "
                                       << g.value(static_cast<ValueId>(v)).name << " share slot " << p.slot[u] << "\n"
                                       << g.str();
    }
}

TEST(MemoryPlan, NeverGivesTwoLiveValuesOneBufferOverRandomGraphs) {
  size_t reused = 0;
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    Random r = random_graph(seed);
    const MemoryPlan p = plan_memory(r.g);
    check_plan(r.g, p, seed);
    if (p.bytes(cpu_device()) < p.unplanned_bytes(r.g, cpu_device())) ++reused;
  }
  EXPECT_GT(reused, 150u) << "the planner should reuse memory in most random graphs";
}

// The planned run gives every output the values of a run in which each value has its own memory.
TEST(MemoryPlan, PlannedRunEqualsUnplannedRun) {
  Stream s(cpu_device());
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    Random r = random_graph(seed);
    const std::vector<Tensor> in{test::up(cpu_device(), ref::random({4, 8}, seed)),
                                 test::up(cpu_device(), ref::random({8, 8}, seed + 1000, -0.3f, 0.3f)),
                                 test::up(cpu_device(), ref::random({8}, seed + 2000))};
    // Unplanned: every node's outputs freshly allocated.
    std::vector<Tensor> t(r.g.values());
    for (size_t k = 0; k < in.size(); ++k) t[static_cast<size_t>(r.inputs[k])] = in[k];
    for (size_t i = 0; i < r.g.nodes(); ++i) {
      const Node& n = r.g.node(i);
      std::vector<Tensor> ins, outs;
      for (ValueId v : n.inputs) ins.push_back(t[static_cast<size_t>(v)]);
      for (ValueId v : n.outputs) {
        const Value& val = r.g.value(v);
        t[static_cast<size_t>(v)] = n.op->view ? ins[0].reshape(val.shape) : Tensor::empty(cpu_device(), val.shape);
        outs.push_back(t[static_cast<size_t>(v)]);
      }
      RunCtx ctx{s, n, ins, outs, [&](const Device&) -> Stream& { return s; }};
      n.op->run(ctx);
    }
    Executor exec(r.g, [&](const Device&) -> Stream& { return s; });
    for (size_t k = 0; k < in.size(); ++k) exec.bind(r.inputs[k], in[k]);
    exec.run(0, r.g.nodes());
    for (const auto& [name, v] : r.g.outputs())
      EXPECT_EQ(test::down(exec.tensor(v)).v, test::down(t[static_cast<size_t>(v)]).v)
          << "seed " << seed << " " << name;
  }
}

TEST(MemoryPlan, ReluAndBiasRunInPlaceAndActivationsDieAfterTheirLastRead) {
  Graph g;
  const ValueId x = g.input("x", {16, 32});
  const ValueId w = g.param("w", {32, 32}), b = g.param("b", {32});
  ValueId h = x;
  for (int i = 0; i < 4; ++i) {
    const std::string n = "fc" + std::to_string(i);
    h = relu(g, bias_add(g, matmul(g, h, w, false, true, n), b, n + ".bias"), n + ".relu");
  }
  g.output("y", h);
  const MemoryPlan p = plan_memory(g);
  // Each layer's matmul, bias and relu share one buffer; layer i+1 reads it while writing the next: two slots.
  EXPECT_EQ(p.slots.size(), 2u);
  EXPECT_EQ(p.bytes(cpu_device()), 2u * 16 * 32 * 4);
  EXPECT_EQ(p.unplanned_bytes(g, cpu_device()), 4u * 16 * 32 * 4);
}

}  // namespace
}  // namespace tandem::graph
