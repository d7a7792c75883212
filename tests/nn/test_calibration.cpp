// Calibration: the statistics resist outliers, the fit recovers a known law and predicts sizes
// not measured, profiles survive a round trip, damaged or foreign profiles are rejected with the
// reason and measured afresh, and the planner's input adds up the profile's op predictions.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "tandem/error.h"
#include "tandem/nn/calibration.h"
#include "tandem/ops.h"

namespace tandem::nn {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("tandem-" + std::to_string(::getpid()) + "-" + name)).string();
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

CalibrateOptions small() {
  CalibrateOptions o;
  o.models = {"mlp"};
  o.batches = {2, 8};
  o.repeats = 3;
  return o;
}

TEST(Calibration, MedianRejectsOutliers) {
  const Timing t = robust_median({1.0, 1.1, 0.9, 1.05, 0.95, 100.0, 1.02});
  EXPECT_EQ(t.total, 7);
  EXPECT_EQ(t.kept, 6);
  EXPECT_NEAR(t.seconds, 1.01, 1e-12);
  EXPECT_THROW(robust_median({}), Error);
}

TEST(Calibration, FitRecoversAPowerLawAndPredictsUnmeasuredSizes) {
  std::vector<std::pair<double, double>> pts;
  const auto law = [](double x) { return 2e-5 + 3e-9 * std::pow(x, 0.8); };
  for (double x : {1e4, 1e5, 1e6, 1e7, 1e8}) pts.emplace_back(x, law(x));
  const PowerFit f = fit_power(pts);
  EXPECT_NEAR(f.b, 0.8, 0.011);
  EXPECT_LT(f.rel_error, 0.01);
  for (double x : {3e4, 5e6, 1e9}) EXPECT_NEAR(f.predict(x) / law(x), 1.0, 0.05) << x;
  // Two sizes: a straight line through both (no exponent can be told from two points).
  const PowerFit line = fit_power({{1e3, 2e-6}, {1e6, 1.001e-3}});
  EXPECT_DOUBLE_EQ(line.b, 1.0);
  EXPECT_NEAR(line.predict(1e5), 1e-6 + 1e-4, 1e-7);
}

TEST(Calibration, ProfileRoundTripsAndDamageIsNamed) {
  Profile p;
  p.fingerprint = machine_fingerprint(&p.machine);
  p.models = {"mlp"};
  DeviceProfile& d = p.devices["cpu:0"];
  d.name = "a cpu", d.driver = "openblas";
  d.ops["gemm"].all = {{{1e6, 1e-4, 5, 7}}, {1e-6, 1e-10, 1.0, 0.02}};
  d.ops["gemm"].shapes["[8][8][8]"] = {{{1e6, 1e-4, 5, 7}, {2e6, 3e-4, 5, 7}}, {0, 1e-10, 1.0, 0.0}};
  const Profile q = Profile::parse(p.to_json(), "x");
  EXPECT_EQ(q.fingerprint, p.fingerprint);
  EXPECT_EQ(q.devices.at("cpu:0").ops.at("gemm").all.points[0].kept, 5);
  EXPECT_DOUBLE_EQ(*q.predict("cpu:0", opdesc::gemm, {2e6, 0}), 1e-6 + 2e-4);
  EXPECT_DOUBLE_EQ(*q.predict("cpu:0", opdesc::gemm, {2e6, 0}, "[8][8][8]"), 2e-4);  // the family's own law
  EXPECT_FALSE(q.predict("cpu:0", opdesc::axpy, {1, 1}));
  EXPECT_FALSE(q.predict("opencl:0", opdesc::gemm, {1, 1}));

  const auto message = [](const std::string& text) {
    try {
      Profile::parse(text, "f.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("{\"format\": \"tandem-profile/1\", ").find("corrupt"), std::string::npos);
  EXPECT_NE(message("[1, 2]").find("not a Tandem profile"), std::string::npos);
  std::string bad = p.to_json();
  bad.replace(bad.find("\"seconds\": 0.0001"), 17, "\"seconds\": -1");
  EXPECT_NE(message(bad).find("device cpu:0 op gemm: \"seconds\" must be a finite number"), std::string::npos);
  // Counts of timings were cast to int unchecked: 1e10 was undefined behaviour (UBSan, with the
  // fuzz_profile target's build), not an error.
  std::string huge = p.to_json();
  huge.replace(huge.find("\"kept\": 5"), 9, "\"kept\": 1e10");
  EXPECT_NE(message(huge).find("op gemm: \"kept\" must be a whole number of timings"), std::string::npos);
  std::string more = p.to_json();
  more.replace(more.find("\"kept\": 5"), 9, "\"kept\": 9");
  EXPECT_NE(message(more).find("a point keeps 9 of 7 timings"), std::string::npos);
}

TEST(Calibration, CorruptOrForeignProfilesAreRejectedAndRecalibrated) {
  const std::string path = temp_path("profile.json");
  const std::vector<Device> cpu = {cpu_device()};
  std::string why;

  write(path, "{\"format\": \"tandem-profile/1\", \"fingerprint\": tru");  // truncated
  Profile p = load_or_calibrate(path, cpu, small(), &why);
  EXPECT_NE(why.find("corrupt"), std::string::npos) << why;
  EXPECT_TRUE(p.devices.count("cpu:0"));
  const OpProfile& gemm = p.devices.at("cpu:0").ops.at("gemm");
  // 8 gemm calls per pass (forward and dW; dx but in fc1) × two batches; dW and dx have the same
  // shapes (but for the batch) and cost, told apart by their order.
  EXPECT_EQ(gemm.all.points.size(), 16u);
  EXPECT_EQ(gemm.shapes.size(), 8u);
  for (const auto& [family, law] : gemm.shapes) EXPECT_EQ(law.points.size(), 2u) << family;

  // The rewritten file is used as it is.
  load_or_calibrate(path, cpu, small(), &why);
  EXPECT_EQ(why, "");

  // The same profile, said to come from elsewhere.
  p.fingerprint = "0123456789abcdef";
  p.machine = "cpu Elsewhere 9000, 64 cores";
  write(path, p.to_json());
  const Profile again = load_or_calibrate(path, cpu, small(), &why);
  EXPECT_NE(why.find("another machine (cpu Elsewhere 9000"), std::string::npos) << why;
  EXPECT_EQ(again.fingerprint, machine_fingerprint());

  // Another model's ops are measured and added, keeping what was there.
  CalibrateOptions cnn = small();
  cnn.models = {"cnn"};
  cnn.batches = {2};
  const Profile both = load_or_calibrate(path, cpu, cnn, &why);
  EXPECT_NE(why.find("does not cover model cnn"), std::string::npos) << why;
  EXPECT_TRUE(both.devices.at("cpu:0").ops.count("conv2d_forward"));
  EXPECT_EQ(both.models, (std::vector<std::string>{"cnn", "mlp"}));
  std::filesystem::remove(path);
}

TEST(Calibration, ModeledDevicesContributeTheirModel) {
  Device sim;
  for (const Device& d : devices())
    if (d.props().modeled) sim = d;
  if (!sim) GTEST_SKIP() << "no modeled device (TANDEM_FPGA_SIM=none)";
  CalibrateOptions o = small();
  o.batches = {2};
  const Profile p = calibrate({sim}, o);
  const DeviceProfile& d = p.devices.at(sim.id());
  EXPECT_TRUE(d.modeled);
  for (const auto& [name, op] : d.ops)
    for (const TimedPoint& pt : op.all.points) EXPECT_GT(pt.seconds, 0) << name;
  // The model is deterministic: the same pass gives the same times (up to the rounding of the
  // device clock's differences).
  const Profile q = calibrate({sim}, o);
  const double again = q.devices.at(sim.id()).ops.at("gemm").all.points[0].seconds;
  EXPECT_NEAR(again, d.ops.at("gemm").all.points[0].seconds, 1e-9 * again);
  EXPECT_GT(d.copy.a, 0);  // the modeled PCIe link
}

// Every op costs 1 ms on the CPU: each layer's predicted time counts its op calls.
TEST(Calibration, PlanInputAddsTheLayersOpCalls) {
  Profile p;
  DeviceProfile& cpu = p.devices["cpu:0"];
  for (const OpDesc* op : all_ops()) cpu.ops[op->name].all.fit = {1e-3, 0, 1, 0};
  const ModelSpec mlp = load_model("mlp");
  const PlanInput in = plan_input(mlp, 16, {cpu_device()}, p);
  // fc1: gemm, bias_add; gemm (dW), bias_backward (no dx for the first layer). relu: 2. fc2: 5.
  // fc3 (last): 5 and the loss forward and backward.
  const std::vector<double> calls = {4, 2, 5, 2, 7};
  ASSERT_EQ(in.layers.size(), calls.size());
  for (size_t i = 0; i < calls.size(); ++i) EXPECT_NEAR(in.layers[i].seconds[0], calls[i] * 1e-3, 1e-12) << i;
  EXPECT_DOUBLE_EQ(in.layers[0].out_bytes, 4.0 * 16 * 256);

  cpu.ops.erase("bias_add");
  try {
    plan_input(mlp, 16, {cpu_device()}, p);
    FAIL() << "a profile without bias_add was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no timing of bias_add"), std::string::npos) << e.what();
  }
}

// Copies between devices go through the host at the profile's bandwidth, capped by the PCIe link.
TEST(Calibration, PlanInputTakesCopyBandwidthFromProfileAndLink) {
  Device sim;
  for (const Device& d : devices())
    if (d.props().modeled) sim = d;
  if (!sim) GTEST_SKIP() << "no modeled device (TANDEM_FPGA_SIM=none)";
  Profile p;
  for (const Device& d : {cpu_device(), sim})
    for (const OpDesc* op : all_ops()) p.devices[d.id()].ops[op->name].all.fit = {1e-3, 0, 1, 0};
  DeviceProfile& s = p.devices[sim.id()];
  s.copies = {{1e6, 1e-3, 1, 1}};
  s.copy = {1e-5, 1e-9, 1, 0};  // 1 GB/s, 10 µs
  PlanInput in = plan_input(load_model("mlp"), 4, {cpu_device(), sim}, p);
  EXPECT_NEAR(in.bandwidth[0][1], 1e9, 1e3);
  EXPECT_NEAR(in.latency, 1e-5, 1e-8);
  s.link_bandwidth = 0.5e9;  // hwloc: a slower link than the copies showed
  in = plan_input(load_model("mlp"), 4, {cpu_device(), sim}, p);
  EXPECT_NEAR(in.bandwidth[1][0], 0.5e9, 1e6);
}

}  // namespace
}  // namespace tandem::nn
