// The planner on synthetic cost profiles: it prefers the faster device, stays put when the copies
// cost more than they save, moves runs of layers, counts every edge of a DAG (a residual's
// shortcut too) and finds the optimum there, honours pins, and reports a pin it cannot keep
// exactly once.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "../ops/harness.h"
#include "tandem/nn/placement.h"

namespace tandem::nn {
namespace {

// Two devices; layer i costs cpu[i] on device 0 and acc[i] on device 1.
PlanInput two_devices(const std::vector<double>& cpu, const std::vector<double>& acc, double bytes, double bw) {
  PlanInput in;
  in.devices = {"cpu:0", "fpga-sim:0"};
  for (size_t i = 0; i < cpu.size(); ++i)
    in.layers.push_back({"layer" + std::to_string(i), {cpu[i], acc[i]}, {"", ""}, bytes});
  in.bandwidth = {{0, bw}, {bw, 0}};
  in.latency = 0;
  return in;
}

TEST(Placement, PrefersTheFasterDevice) {
  const Plan p = plan_placement(two_devices({1, 1, 1}, {0.1, 0.1, 0.1}, 1e6, 1e9));
  EXPECT_EQ(p.device, (std::vector<int>{1, 1, 1}));
  EXPECT_NEAR(p.total_seconds, 0.3, 1e-12);
  EXPECT_TRUE(p.warnings.empty());
}

TEST(Placement, StaysPutWhenCopiesCostMoreThanTheySave) {
  // The middle layer is 0.1 s faster on the accelerator, but moving there and back copies
  // 2 × 2 × 100 MB at 1 GB/s = 0.4 s.
  const Plan stay = plan_placement(two_devices({1, 1, 1}, {kUnsupported, 0.9, kUnsupported}, 1e8, 1e9));
  EXPECT_EQ(stay.device, (std::vector<int>{0, 0, 0}));
  // A 10× faster link makes the move worth it: a run of one layer moves, with its copies counted.
  const Plan move = plan_placement(two_devices({1, 1, 1}, {kUnsupported, 0.5, kUnsupported}, 1e8, 1e10));
  EXPECT_EQ(move.device, (std::vector<int>{0, 1, 0}));
  EXPECT_NEAR(move.transfer_seconds[1], 0.02, 1e-12);
  EXPECT_NEAR(move.total_seconds, 1 + 0.02 + 0.5 + 0.02 + 1, 1e-12);
}

TEST(Placement, MovesRunsOfLayersTogether) {
  // Layers 1–3 are faster on the accelerator; one move in and one out beats layer-by-layer.
  const Plan p = plan_placement(two_devices({1, 2, 2, 2, 1}, {5, 1, 1, 1, 5}, 1e8, 1e9));
  EXPECT_EQ(p.device, (std::vector<int>{0, 1, 1, 1, 0}));
  int moves = 0;
  for (size_t i = 1; i < p.device.size(); ++i) moves += p.device[i] != p.device[i - 1];
  EXPECT_EQ(moves, 2);
}

// A residual block: layer 0 feeds layer 1 and, by the shortcut, layer 2 (the add). Moving layer 1
// alone to the accelerator pays the copies in and out of it; moving layers 1 and 2 also copies
// the shortcut (100 MB each way), which a chain planner would not have counted.
TEST(Placement, CountsTheShortcutOfAResidual) {
  PlanInput in = two_devices({1, 2, 0.5, 1}, {5, 0.1, 0.4, 5}, 1e8, 1e9);  // a copy each way: 0.2 s
  in.layers[2].inputs = {1, 0};
  const Plan p = plan_placement(in);
  // Layer 1 alone on the accelerator: 1 + 0.1 + 0.5 + 1, copies 0→1 and 1→2: 3.0 s, the least.
  // The block (1 and 2) there: 1 + 0.1 + 0.4 + 1, copies 0→1, 0→2 (the shortcut) and 2→3: 3.1 s.
  EXPECT_EQ(p.device, (std::vector<int>{0, 1, 0, 0}));
  EXPECT_NEAR(p.total_seconds, 3.0, 1e-12);
  EXPECT_NEAR(p.transfer_seconds[2], 0.2, 1e-12);  // layer 1's output into layer 2; the shortcut stays
  // Without the shortcut (a chain) the block moves whole: 2.5 s + two copies = 2.9 s.
  in.layers[2].inputs = {1};
  EXPECT_EQ(plan_placement(in).device, (std::vector<int>{0, 1, 1, 0}));
}

// On random DAGs over three devices, the plan is the optimum an exhaustive search finds, and its
// reported times add up to it.
TEST(Placement, FindsTheOptimumOnRandomGraphs) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> cost(0.1, 2.0), bytes(1e6, 5e8);
  for (int trial = 0; trial < 200; ++trial) {
    const size_t nl = 2 + rng() % 6, nd = 3;
    PlanInput in;
    in.devices = {"cpu:0", "opencl:0", "fpga-sim:0"};
    in.bandwidth = {{0, 2e9, 1e9}, {2e9, 0, 3e9}, {1e9, 3e9, 0}};
    in.latency = 1e-3;
    for (size_t i = 0; i < nl; ++i) {
      LayerCost l{"layer" + std::to_string(i), {cost(rng), cost(rng), cost(rng)}, {"", "", ""}, bytes(rng)};
      if (rng() % 5 == 0 && i > 0) l.seconds[rng() % nd] = kUnsupported;
      l.inputs = {static_cast<int>(i) - 1};
      if (i >= 2 && rng() % 2 == 0) l.inputs.push_back(static_cast<int>(rng() % (i - 1)));  // a skip edge
      in.layers.push_back(l);
    }
    double best = kUnsupported;
    std::vector<int> devices(nl, 0);
    for (size_t code = 0; code < static_cast<size_t>(std::pow(nd, nl)); ++code) {
      size_t c = code;
      double t = 0;
      for (size_t i = 0; i < nl; ++i, c /= nd) devices[i] = static_cast<int>(c % nd);
      for (size_t i = 0; i < nl; ++i) {
        t += in.layers[i].seconds[static_cast<size_t>(devices[i])];
        for (int j : in.layers[i].inputs)
          if (j >= 0 && devices[static_cast<size_t>(j)] != devices[i])
            t += 2 * (in.latency + in.layers[static_cast<size_t>(j)].out_bytes /
                                       in.bandwidth[static_cast<size_t>(devices[static_cast<size_t>(j)])]
                                                   [static_cast<size_t>(devices[i])]);
      }
      best = std::min(best, t);
    }
    const Plan p = plan_placement(in);
    EXPECT_NEAR(p.total_seconds, best, 1e-9 * best) << "trial " << trial;
    double sum = 0;
    for (size_t i = 0; i < nl; ++i) sum += p.layer_seconds[i] + p.transfer_seconds[i];
    EXPECT_NEAR(sum, p.total_seconds, 1e-12 * best);
  }
}

TEST(Placement, HonoursPinsAndReportsAFallbackOnce) {
  PlanInput in = two_devices({1, 1, 1}, {0.1, kUnsupported, 0.1}, 1e3, 1e9);
  in.layers[1].missing = {"", "no kernel for softmax_xent_forward"};
  in.pins = parse_pins("layer0=cpu,layer1=fpga-sim:0");
  const Plan p = plan_placement(in);
  EXPECT_EQ(p.device[0], 0) << "pinned to the slower device: kept";
  EXPECT_EQ(p.device[1], 0) << "pinned where it cannot run: placed by the model";
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("layer1"), std::string::npos);
  EXPECT_NE(p.warnings[0].find("fpga-sim:0"), std::string::npos);
  EXPECT_NE(p.warnings[0].find("no kernel for softmax_xent_forward"), std::string::npos);
  in.pins = parse_pins("layer*=fpga-sim:0");  // a pattern: layers 0 and 2 follow it
  const Plan q = plan_placement(in);
  EXPECT_EQ(q.device, (std::vector<int>{1, 0, 1}));
  EXPECT_EQ(q.warnings.size(), 1u);
}

TEST(Placement, BadInputIsNamed) {
  PlanInput in = two_devices({1}, {1}, 0, 1e9);
  in.pins = parse_pins("layer0=cuda:3");
  test::expect_error([&] { plan_placement(in); }, ErrorKind::invalid_argument, {"cuda:3", "cpu:0", "fpga-sim:0"});
  test::expect_error([] { parse_pins("conv1"); }, ErrorKind::invalid_argument, {"conv1", "LAYER=DEVICE"});
  test::expect_error([] { parse_pins("conv1=cpu,=x"); }, ErrorKind::invalid_argument, {"=x"});
  PlanInput nowhere = two_devices({kUnsupported}, {kUnsupported}, 0, 1e9);
  nowhere.layers[0].missing = {"no kernel for a", "no kernel for b"};
  test::expect_error([&] { plan_placement(nowhere); }, ErrorKind::invalid_argument,
                     {"layer0", "none of the devices", "no kernel for a", "no kernel for b"});
  EXPECT_TRUE(parse_pins("").empty());
  PlanInput forward = two_devices({1, 1}, {1, 1}, 0, 1e9);
  forward.layers[0].inputs = {1};
  test::expect_error([&] { plan_placement(forward); }, ErrorKind::invalid_argument,
                     {"layer0 reads a layer that does not come before it"});
}

// A pin that places no layer is a typo, and two pins placing one layer on different devices
// a conflict: both are errors naming the layers, never silently ignored or decided by order.
TEST(Placement, UnknownAndConflictingPinsAreErrors) {
  PlanInput in = two_devices({1, 1, 1}, {1, 1, 1}, 1e6, 1e9);
  in.pins = parse_pins("layer9=cpu:0");
  test::expect_error([&] { plan_placement(in); }, ErrorKind::invalid_argument,
                     {"--place layer9=cpu:0: no layer is named layer9", "layers: layer0, layer1, layer2"});
  in.pins = parse_pins("layer*=fpga-sim:0,layer1=cpu:0");
  test::expect_error([&] { plan_placement(in); }, {"pins layer layer1 twice: layer*=fpga-sim:0 and layer1=cpu:0"});
  in.pins = parse_pins("layer*=fpga-sim:0,layer1=fpga-sim");  // the same device twice is no conflict
  EXPECT_EQ(plan_placement(in).device, (std::vector<int>{1, 1, 1}));
}

}  // namespace
}  // namespace tandem::nn
