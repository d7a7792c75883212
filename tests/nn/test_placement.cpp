// The planner on synthetic cost profiles: it prefers the faster device, stays put when the copies
// cost more than they save, moves runs of layers, honours pins, and reports a pin it cannot keep
// exactly once.
#include <gtest/gtest.h>

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
