// Properties of the quantization primitive on every device: the per-chunk step is the chunk's
// abs-max (or L2 norm) over the levels, stochastic rounding is unbiased (the mean over many
// keys converges to the input), errors stay within one step (half a step when rounding to
// nearest), and the same key gives the same output.
#include <cmath>

#include "../ops/harness.h"

namespace tandem::test {
namespace {

class Quantize : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    device = find_device(GetParam());
    for (const OpDesc* op : {&opdesc::quantize, &opdesc::dequantize}) TANDEM_SKIP_UNLESS_SUPPORTS(device, *op);
  }
  Device device;
};

TEST_P(Quantize, StochasticRoundingIsUnbiasedAndBounded) {
  Stream s(device);
  const int64_t n = 512, chunk = 128;
  const ref::Host x = ref::random({n}, 81, -1, 1);
  Tensor X = up(device, x), U = Tensor::empty(device, {n / chunk}), Q = Tensor::empty(device, {n}, DType::i8);
  Tensor Y = Tensor::empty(device, {n});
  const int levels = 1;  // TernGrad-like: the coarsest grid, the strongest test of unbiasedness
  const int keys = 4000;
  std::vector<double> mean(static_cast<size_t>(n), 0.0);
  std::vector<float> unit;
  for (int k = 0; k < keys; ++k) {
    ops::quantize(s, X, U, Q, {chunk, levels, QuantScale::absmax, true, {99, static_cast<uint32_t>(k), 0}});
    ops::dequantize(s, Q, U, Y, {chunk});
    const std::vector<float> y = Y.to_f32();
    unit = U.to_f32();
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_LE(std::fabs(y[i] - x.v[i]), unit[i / chunk] * 1.0001f) << "error above one step at " << i;
      mean[i] += y[i] / keys;
    }
  }
  for (int64_t c = 0; c < n / chunk; ++c) {
    float amax = 0;
    for (int64_t i = c * chunk; i < (c + 1) * chunk; ++i) amax = std::max(amax, std::fabs(x.v[i]));
    EXPECT_EQ(unit[c], amax / levels) << "the step of chunk " << c << " is its abs-max over the levels";
  }
  for (int64_t i = 0; i < n; ++i) {  // σ of the mean ≤ unit / (2√keys); allow 5σ
    const double tol = 5 * unit[i / chunk] / (2 * std::sqrt(double(keys)));
    ASSERT_NEAR(mean[i], x.v[i], tol) << "biased at element " << i;
  }
}

TEST_P(Quantize, NearestIsWithinHalfAStepAndKeysAreDeterministic) {
  Stream s(device);
  const int64_t n = 3000, chunk = 256, nc = (n + chunk - 1) / chunk;
  const ref::Host x = ref::random({n}, 82, -5, 5);
  Tensor X = up(device, x), U = Tensor::empty(device, {nc}), Q = Tensor::empty(device, {n}, DType::i8);
  Tensor Y = Tensor::empty(device, {n});
  ops::quantize(s, X, U, Q, {chunk, 127, QuantScale::absmax, false, {}});  // int8 with a per-chunk scale
  ops::dequantize(s, Q, U, Y, {chunk});
  const std::vector<float> y = Y.to_f32(), unit = U.to_f32();
  for (int64_t i = 0; i < n; ++i) ASSERT_LE(std::fabs(y[i] - x.v[i]), 0.5f * unit[i / chunk] * 1.0001f) << i;

  const QuantizeParams a{chunk, 127, QuantScale::norm2, true, {5, 1, 2}},
      b{chunk, 127, QuantScale::norm2, true, {5, 1, 3}};
  ops::quantize(s, X, U, Q, a);
  const std::vector<int8_t> first = Q.to_vector<int8_t>();
  ops::quantize(s, X, U, Q, a);
  EXPECT_EQ(Q.to_vector<int8_t>(), first) << "same key, different output";
  ops::quantize(s, X, U, Q, b);
  EXPECT_NE(Q.to_vector<int8_t>(), first) << "another rank drew the same numbers";
}

TEST_P(Quantize, BadParameters) {
  Stream s(device);
  Tensor X = Tensor::zeros(device, {10}), U = Tensor::zeros(device, {3}), Q = Tensor::zeros(device, {10}, DType::i8);
  const QuantScale m = QuantScale::absmax;
  expect_error([&] { ops::quantize(s, X, U, Q, {4, 200, m, true, {}}); }, {"levels must be in [1, 127]"});
  expect_error([&] { ops::quantize(s, X, U, Q, {5, 127, m, true, {}}); }, {"chunk count is 3, expected 2"});
  expect_error([&] { ops::chunk_absmax(s, X, U, {0}); }, {"chunk must be ≥ 1"});
  expect_error([&] { ops::dequantize(s, Q, U, Tensor::zeros(device, {9}), {4}); }, {"element counts differ"});
  Tensor B = Tensor::zeros(device, {4}, DType::u8);
  expect_error([&] { ops::pack_bits(s, Q, B, {4, 1}); }, {"byte count is 4, expected 5"});
}

INSTANTIATE_TEST_SUITE_P(AllDevices, Quantize, ::testing::ValuesIn(device_ids()),
                         [](const auto& info) { return param_name(info.param); });

}  // namespace
}  // namespace tandem::test
