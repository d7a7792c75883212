// The performance model: its loop-trip predictions against the counts C simulation observes
// (exact: the model's loop structure is the sources'), its resource check, and the fpga-sim
// device that charges its modeled clock by it.
#include <gtest/gtest.h>

#include <cmath>

#include "../ops/harness.h"
#include "cores.h"
#include "fpga_sim.h"
#include "perf_model.h"
#include "tandem_hls/trips.h"

namespace tandem::fpga {
namespace {

// Observed counts of the loops the model names, after running `core`.
template <class F>
std::map<std::string, uint64_t> observe(F core) {
  tandem_hls::reset_trips();
  core();
  std::map<std::string, uint64_t> out;
  for (const auto& [name, count] : tandem_hls::trip_counts())
    if (count > 0) out[name] = count;
  return out;
}

const CardProfile& u250() { return card("u250"); }

TEST(PerfModel, TripCountsEqualCSimulation) {
  // Plain structs, not structured bindings: the lambdas below capture them (clang 14 cannot).
  struct Gemm { int m, n, k; };
  for (const Gemm g : {Gemm{1, 1, 1}, Gemm{64, 32, 64}, Gemm{70, 45, 130}, Gemm{5, 100, 3}}) {
    const int m = g.m, n = g.n, k = g.k;
    std::vector<float> a(static_cast<size_t>(m * k), 1.0f), b(static_cast<size_t>(k * n), 1.0f),
        c(static_cast<size_t>(m * n));
    const auto seen = observe([&] { tandem_gemm(a.data(), b.data(), c.data(), m, n, k, 0, 0, 1.0f, 0.0f); });
    EXPECT_EQ(gemm(u250(), m, n, k).trips(), seen) << "gemm " << m << "x" << n << "x" << k;
  }
  {  // the batched core: gemm's loops once per matrix, in one launch
    std::vector<float> a(4 * 50 * 16, 1.0f), b(4 * 16 * 50, 1.0f), c(4 * 50 * 50);
    const auto seen = observe([&] { tandem_gemm_batched(a.data(), b.data(), c.data(), 4, 50, 50, 16, 0, 1, 1.0f, 0.0f); });
    EXPECT_EQ(gemm_batched(u250(), 4, 50, 50, 16).trips(), seen);
    EXPECT_NEAR(gemm_batched(u250(), 4, 50, 50, 16).seconds - u250().launch_s,
                4 * (gemm(u250(), 50, 50, 16).seconds - u250().launch_s), 1e-12);
  }
  struct Conv { int n, ch, h, k, r, st, pad; };
  for (const Conv c : {Conv{2, 1, 28, 16, 5, 1, 2}, Conv{1, 3, 9, 5, 3, 2, 0}}) {
    const int n = c.n, ch = c.ch, h = c.h, k = c.k, r = c.r, st = c.st, pad = c.pad;
    const int p = (h + 2 * pad - r) / st + 1;
    std::vector<float> x(static_cast<size_t>(n * ch * h * h)), w(static_cast<size_t>(k * ch * r * r)),
        y(static_cast<size_t>(n * k * p * p));
    const auto seen =
        observe([&] { tandem_conv2d_forward(x.data(), w.data(), y.data(), n, ch, h, h, k, r, r, st, st, pad, pad); });
    EXPECT_EQ(conv2d(u250(), n, ch, h, h, k, r, r, st, st, pad, pad).trips(), seen) << "conv c" << ch;
  }
  {
    std::vector<float> x(2 * 3 * 9 * 8), bias(3), y(2 * 3 * 4 * 3);
    std::vector<int> idx(y.size());
    const auto seen =
        observe([&] { tandem_bias_relu_pool(x.data(), bias.data(), y.data(), idx.data(), 2, 3, 9, 8, 3, 2); });
    EXPECT_EQ(bias_relu_pool(u250(), 2, 3, 9, 8, 3, 2).trips(), seen);
  }
  const int n = 1001;
  std::vector<float> x(n, 0.5f), unit(n), val(n);
  std::vector<int8_t> q(n);
  std::vector<uint8_t> bits(n);
  std::vector<int32_t> idx(n);
  int32_t count = 0;
  for (int chunk : {7, 256}) {
    EXPECT_EQ(absmax(u250(), n, chunk).trips(), observe([&] { tandem_chunk_absmax(x.data(), unit.data(), n, chunk); }));
    for (bool norm2 : {false, true})
      EXPECT_EQ(quantize(u250(), n, chunk, norm2).trips(), observe([&] {
                  tandem_quantize(x.data(), unit.data(), q.data(), n, chunk, 127, norm2, 1, 1, 2, 3, 4);
                }));
    EXPECT_EQ(sign_pack(u250(), n, chunk).trips(),
              observe([&] { tandem_sign_pack(x.data(), unit.data(), bits.data(), n, chunk); }));
  }
  EXPECT_EQ(compact(u250(), n, n).trips(),
            observe([&] { tandem_compact(x.data(), 0.1f, idx.data(), val.data(), &count, n, n, 1 << 30); }));
  EXPECT_EQ(compact(u250(), n, 10).trips(),  // output full after 10 selections: the pass stops
            observe([&] { tandem_compact(x.data(), 0.1f, idx.data(), val.data(), &count, n, 10, 1 << 30); }));
  EXPECT_EQ(accumulate(u250(), n).trips(), observe([&] { tandem_axpy(x.data(), unit.data(), 1.0f, n, 1); }));
}

TEST(PerfModel, TripCountsOfTheTrainingCoresEqualCSimulation) {
  const int n = 2, ch = 3, h = 9, w = 8, k = 5, r = 3, pad = 1;
  std::vector<float> x(n * ch * h * w, 0.5f), y(x.size()), dy(n * k * h * w, 0.25f), wt(k * ch * r * r, 0.1f),
      dw(wt.size()), bias_v(ch), logits(64 * 10, 0.5f), probs(64 * 10), loss(1);
  std::vector<int32_t> idx(x.size()), labels(64, 3);
  EXPECT_EQ(vector(u250(), 400, 2).trips(), observe([&] { tandem_elementwise(2, x.data(), y.data(), y.data(), 0, 400); }));
  for (bool backward : {false, true})
    EXPECT_EQ(bias(u250(), n, ch, h * w, backward).trips(),
              observe([&] { tandem_bias(x.data(), backward ? bias_v.data() : y.data(), n, ch, h * w, backward); }));
  EXPECT_EQ(maxpool(u250(), n * ch, h, w, 2, 2).trips(),
            observe([&] { tandem_maxpool2d_forward(x.data(), y.data(), idx.data(), n * ch, h, w, 2, 2); }));
  std::fill(idx.begin(), idx.end(), 0);
  EXPECT_EQ(maxpool_backward(u250(), n * ch, 12, h * w).trips(),
            observe([&] { tandem_maxpool2d_backward(x.data(), idx.data(), y.data(), n * ch, 12, h * w); }));
  EXPECT_EQ(softmax_xent(u250(), 64, 10).trips(),
            observe([&] { tandem_softmax_xent_forward(logits.data(), labels.data(), probs.data(), loss.data(), 64, 10); }));
  EXPECT_EQ(softmax_xent_backward(u250(), 64, 10).trips(),
            observe([&] { tandem_softmax_xent_backward(probs.data(), labels.data(), probs.data(), 1.0f, 64, 10); }));
  EXPECT_EQ(conv2d_backward_data(u250(), n, ch, h, w, k, r, r, 1, 1, pad, pad).trips(), observe([&] {
              tandem_conv2d_backward_data(dy.data(), wt.data(), y.data(), n, ch, h, w, k, r, r, 1, 1, pad, pad);
            }));
  EXPECT_EQ(conv2d_backward_weights(u250(), n, ch, h, w, k, r, r, 1, 1, pad, pad).trips(), observe([&] {
              tandem_conv2d_backward_weights(x.data(), dy.data(), dw.data(), n, ch, h, w, k, r, r, 1, 1, pad, pad);
            }));
}

TEST(PerfModel, TimesFollowTheEquations) {
  const CoreEstimate e = gemm(u250(), 512, 512, 512);
  EXPECT_GT(e.seconds, e.compute_s);  // launch overhead on top
  EXPECT_NEAR(e.compute_s, static_cast<double>(e.cycles) / u250().clock_hz, 1e-12);
  EXPECT_EQ(e.flops, 2.0 * 512 * 512 * 512);
  // The MAC loop alone: 512·512·512 / TN multiply-adds per cycle.
  const uint64_t mac = e.trips().at("mac");
  EXPECT_EQ(mac * static_cast<uint64_t>(TileConfig::built().tn), 512ull * 512 * 512);
  EXPECT_LT(gemm(u250(), 256, 256, 256).seconds, e.seconds);
  EXPECT_NEAR(transfer_seconds(u250(), 16e9), 1.0, 1e-12);
  // Element-wise cores are pipeline-bound at one element per cycle.
  const CoreEstimate acc = accumulate(u250(), 3'000'000);
  EXPECT_NEAR(acc.compute_s, 3e6 / u250().clock_hz, 1e-6);
  EXPECT_EQ(acc.bound, "compute");
}

TEST(PerfModel, RejectsWhatDoesNotFitAndBadInput) {
  test::expect_error(
      [] {
        gemm(u250(), 64, 64, 64, {64, 1024, 64});
      },
      ErrorKind::invalid_argument, {"needs", "DSP", "one SLR", "U250"});
  test::expect_error([] { card("vu9p"); }, ErrorKind::invalid_argument, {"unknown card 'vu9p'", "u250", "u55c"});
  test::expect_error([] { gemm(u250(), 0, 4, 4); }, ErrorKind::invalid_argument, {"gemm", "≥ 1"});
  test::expect_error([] { conv2d(u250(), 1, 1, 2, 2, 1, 5, 5, 1, 1, 0, 0); }, ErrorKind::invalid_argument,
                     {"larger than the padded input"});
  EXPECT_NO_THROW(gemm(card("u55c"), 64, 64, 64));
}

TEST(FpgaSim, CardsFromTheEnvironmentSpec) {
  EXPECT_EQ(sim_cards(""), std::vector<std::string>{"u250"});
  EXPECT_EQ(sim_cards("u250,u55c"), (std::vector<std::string>{"u250", "u55c"}));
  EXPECT_TRUE(sim_cards("none").empty());
  test::expect_error([] { sim_cards("u250,bogus"); }, ErrorKind::invalid_argument, {"bogus", "u55c"});
  test::expect_error([] { sim_cards("u250,"); }, ErrorKind::invalid_argument, {"empty card name"});
}

TEST(FpgaSim, DeviceComputesWithTheCoresAndChargesTheModel) {
  Device d;
  for (const Device& x : devices())
    if (x.kind() == DeviceKind::fpga_sim) d = x;
  ASSERT_TRUE(d) << "the fpga-sim device is registered by default";
  EXPECT_TRUE(d.props().modeled);
  EXPECT_FALSE(d.props().host_accessible);
  Stream s(d);
  const int64_t m = 70, n = 45, k = 130;
  std::vector<float> av(static_cast<size_t>(m * k)), bv(static_cast<size_t>(k * n));
  for (size_t i = 0; i < av.size(); ++i) av[i] = std::sin(0.1f * static_cast<float>(i));
  for (size_t i = 0; i < bv.size(); ++i) bv[i] = std::cos(0.3f * static_cast<float>(i));
  const double t0 = d.modeled_seconds();
  Tensor a = Tensor::from_vector(d, {m, k}, av), b = Tensor::from_vector(d, {k, n}, bv);
  Tensor c = Tensor::empty(d, {m, n});
  const double t1 = d.modeled_seconds();
  EXPECT_NEAR(t1 - t0, transfer_seconds(u250(), 4.0 * (m * k + k * n)), 1e-12) << "uploads cross PCIe";
  ops::gemm(s, a, b, c);
  const double t2 = d.modeled_seconds();
  EXPECT_NEAR(t2 - t1, gemm(u250(), m, n, k).seconds, 1e-12);
  Tensor want = Tensor::empty(cpu_device(), {m, n});
  Stream cs(cpu_device());
  ops::gemm(cs, Tensor::from_vector(cpu_device(), {m, k}, av), Tensor::from_vector(cpu_device(), {k, n}, bv), want);
  test::expect_close(c.to_f32(), want.to_f32(), 1e-5, 1e-4, "gemm on fpga-sim");
  const auto f16 = [&](const Shape& sh) { return Tensor::zeros(d, sh, DType::f16); };
  test::expect_error(
      [&] {
        ops::gemm(s, f16({m, k}), f16({k, n}), f16({m, n}));
      },
      ErrorKind::unsupported, {"fpga-sim:0", "f32 only"});
  EXPECT_FALSE(d.supports(opdesc::orthonormalize));  // no core: reported, never emulated on the host
}

}  // namespace
}  // namespace tandem::fpga
