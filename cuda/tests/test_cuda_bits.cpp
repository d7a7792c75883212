// What the op suites check within tolerances, or not at all, checked here bit for bit against the
// CPU on cuda:0: special values through casts, NaN in selections, compaction across tiles with
// ties and a limit, scatter_add's two paths, Philox-keyed ops at unaligned offsets, and the
// chunked reductions at chunk sizes the vector loads do and do not fit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "need_cuda.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

std::vector<uint8_t> bytes(const Tensor& t) {
  std::vector<uint8_t> b(t.nbytes());
  t.copy_to_host(b.data());
  return b;
}

// Runs f on the GPU and on the CPU; the tensors it returns must be equal byte for byte.
using Case = std::function<std::vector<Tensor>(const Device&, Stream&)>;
void expect_same_bits(const Device& gpu, const Case& f, const std::string& what) {
  Stream sg(gpu), sc(cpu_device());
  const std::vector<Tensor> a = f(gpu, sg), b = f(cpu_device(), sc);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(bytes(a[i]), bytes(b[i])) << what << ": output " << i;
}

std::vector<float> wave(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * std::sin(0.37f * float(i)) * (1.0f + float(i % 7));
  return v;
}

TEST(CudaBits, CastsKeepTheCpuBits) {
  NEED_CUDA(d);
  const std::vector<uint32_t> bits{0x7fc00001u, 0xff800000u, 0x7f7fffffu, 0x477ff000u, 0x477fefffu, 0x33000001u,
                                   0x38800000u, 0x387fffffu, 0x80000001u, 0x00000000u, 0x80000000u, 0x3f800001u,
                                   0x7f800001u, 0x4f000000u, 0xcf000001u, 0x3fc00000u, 0xbfc00000u, 0x437f8000u};
  std::vector<float> x(bits.size());
  for (size_t i = 0; i < x.size(); ++i) std::memcpy(&x[i], &bits[i], 4);
  const auto n = static_cast<int64_t>(x.size());
  for (DType t : {DType::f16, DType::bf16, DType::i8, DType::i32, DType::u8})
    expect_same_bits(
        d,
        [&](const Device& dev, Stream& s) {
          const Tensor a = Tensor::from_vector(dev, {n}, x), y = Tensor::empty(dev, {n}, t),
                       back = Tensor::empty(dev, {n});
          ops::cast(s, a, y);
          ops::cast(s, y, back);
          return std::vector<Tensor>{y, back};
        },
        std::string("cast via ") + std::string(dtype_name(t)));
  std::vector<int32_t> v(64);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(i);
  expect_same_bits(
      d,
      [&](const Device& dev, Stream& s) {  // overlapping views: memmove
        const Tensor whole = Tensor::from_vector(dev, {64}, v);
        ops::cast(s, Tensor(whole.buffer(), {48}, DType::i32, 0), Tensor(whole.buffer(), {48}, DType::i32, 40));
        return std::vector<Tensor>{whole};
      },
      "overlapping cast");
}

TEST(CudaBits, ElementwiseInEveryFloatType) {
  NEED_CUDA(d);
  const std::vector<float> a = wave(1027, 3.0f), b = wave(1027, -0.7f);
  for (DType t : {DType::f32, DType::f16, DType::bf16})
    expect_same_bits(
        d,
        [&](const Device& dev, Stream& s) {
          const Tensor fa = Tensor::from_vector(dev, {1027}, a), fb = Tensor::from_vector(dev, {1027}, b);
          const Tensor x = Tensor::empty(dev, {1027}, t), y = Tensor::empty(dev, {1027}, t),
                       z = Tensor::empty(dev, {1027}, t);
          ops::cast(s, fa, x);
          ops::cast(s, fb, y);
          ops::axpy(s, 0.37f, x, y);
          ops::mul(s, x, y, z);
          ops::add(s, z, x, z);
          ops::scale(s, -1.3f, z);
          return std::vector<Tensor>{y, z};
        },
        std::string("elementwise ") + std::string(dtype_name(t)));
}

TEST(CudaBits, SelectionWithNaNsTiesAndLimits) {
  NEED_CUDA(d);
  const std::vector<float> m{NAN, 0.5f, -2.0f, NAN, 2.0f, -0.0f, 1.0f};
  for (int64_t k = 1; k <= 7; ++k)
    expect_same_bits(
        d,
        [&](const Device& dev, Stream& s) {
          const Tensor t = Tensor::empty(dev, {1});
          ops::kth_magnitude(s, Tensor::from_vector(dev, {7}, m), t, {k});
          return std::vector<Tensor>{t};
        },
        "kth_magnitude k = " + std::to_string(k));
  // Three tiles and a bit; every 5th element ties the threshold; the limit runs out in tile 1.
  const int64_t n = 3 * 4096 + 123;
  std::vector<float> x = wave(size_t(n), 1.0f);
  for (int64_t i = 0; i < n; i += 5) x[size_t(i)] = i % 2 ? 0.5f : -0.5f;
  x[7] = NAN;
  for (const int64_t limit : {int64_t{0}, int64_t{3000}, INT64_MAX})
    for (const int64_t cap : {n, int64_t{1000}})
      expect_same_bits(
          d,
          [&](const Device& dev, Stream& s) {
            const Tensor idx = Tensor::zeros(dev, {cap}, DType::i32), val = Tensor::zeros(dev, {cap}),
                         count = Tensor::empty(dev, {1}, DType::i32);
            ops::compact(s, Tensor::from_vector(dev, {n}, x), Tensor::from_vector(dev, {1}, std::vector<float>{0.5f}),
                         idx, val, count, {limit});
            return std::vector<Tensor>{idx, val, count};
          },
          "compact limit " + std::to_string(limit) + " capacity " + std::to_string(cap));
}

TEST(CudaBits, ScatterAddInPayloadOrder) {
  NEED_CUDA(d);
  std::vector<float> y(1000), add(300);
  for (size_t i = 0; i < y.size(); ++i) y[i] = 1.0f / float(i + 1);
  for (size_t j = 0; j < add.size(); ++j) add[j] = 0.1f * float(j) - 7.0f;
  std::vector<int32_t> increasing(300), repeated(300);
  for (size_t j = 0; j < 300; ++j) increasing[j] = int32_t(3 * j + 1), repeated[j] = int32_t((j * 37) % 11);
  for (const auto* idx : {&increasing, &repeated})
    expect_same_bits(
        d,
        [&](const Device& dev, Stream& s) {
          const Tensor out = Tensor::from_vector(dev, {1000}, y);
          ops::scatter_add(s, Tensor::from_vector(dev, {300}, *idx), Tensor::from_vector(dev, {300}, add), out);
          return std::vector<Tensor>{out};
        },
        idx == &increasing ? "scatter_add, increasing" : "scatter_add, repeated");
}

TEST(CudaBits, CodecPrimitivesAtOddSizesAndOffsets) {
  NEED_CUDA(d);
  const int64_t n = 10007;
  const std::vector<float> x = wave(size_t(n), 0.02f);
  const numeric::RandomKey key{0x1234567890abcdefull, 7, 3, 5};
  for (const int64_t chunk : {int64_t{1}, int64_t{100}, int64_t{256}, int64_t{4096}})
    for (const QuantScale scale : {QuantScale::absmax, QuantScale::norm2})
      for (const bool stochastic : {false, true})
        expect_same_bits(
            d,
            [&](const Device& dev, Stream& s) {
              const int64_t chunks = (n + chunk - 1) / chunk;
              const Tensor xs = Tensor::from_vector(dev, {n}, x), unit = Tensor::empty(dev, {chunks}),
                           q = Tensor::empty(dev, {n}, DType::i8), y = Tensor::empty(dev, {n}),
                           norms = Tensor::empty(dev, {chunks}), means = Tensor::empty(dev, {chunks}),
                           bits = Tensor::empty(dev, {(n + 7) / 8}, DType::u8), signs = Tensor::empty(dev, {n});
              ops::quantize(s, xs, unit, q, {chunk, 5, scale, stochastic, key});
              ops::dequantize(s, q, unit, y, {chunk});
              ops::chunk_norm2(s, xs, norms, {chunk});
              ops::chunk_absmean(s, xs, means, {chunk});
              ops::sign_pack(s, xs, means, bits, {chunk});
              ops::sign_unpack(s, bits, means, signs, {chunk});
              return std::vector<Tensor>{unit, q, y, norms, means, bits, signs};
            },
            "codec chunk " + std::to_string(chunk) + (stochastic ? " stochastic" : " nearest"));
  for (int width = 1; width <= 8; ++width)
    expect_same_bits(
        d,
        [&](const Device& dev, Stream& s) {
          std::vector<int8_t> q(static_cast<size_t>(n));
          for (size_t i = 0; i < q.size(); ++i) q[i] = int8_t(int(i * 7919 % (1u << width)) - (1 << (width - 1)));
          const Tensor b = Tensor::empty(dev, {(n * width + 7) / 8}, DType::u8),
                       back = Tensor::empty(dev, {n}, DType::i8);
          ops::pack_bits(s, Tensor::from_vector(dev, {n}, q), b, {width, 1 << (width - 1)});
          ops::unpack_bits(s, b, back, {width, 1 << (width - 1)});
          return std::vector<Tensor>{b, back};
        },
        "bit packing width " + std::to_string(width));
  expect_same_bits(
      d,
      [&](const Device& dev, Stream& s) {
        const Tensor r = Tensor::empty(dev, {n}), idx = Tensor::empty(dev, {333}, DType::i32),
                     val = Tensor::empty(dev, {333});
        ops::random_fill(s, r, {key, -0.3f, 1.7f});
        ops::sample(s, Tensor::from_vector(dev, {n}, x), idx, val, {key, true});
        return std::vector<Tensor>{r, idx, val};
      },
      "random_fill and sample");
}

// Gradient-sized tensors: many tiles per block in the one-pass reductions (quantize, sign_pack),
// every block busy, and a partial tile at the end.
TEST(CudaBits, CodecPrimitivesOverManyTiles) {
  NEED_CUDA(d);
  const int64_t n = (int64_t{1} << 24) + 1001;
  const std::vector<float> x = wave(size_t(n), 0.01f);
  const numeric::RandomKey key{42, 3, 1, 6};
  for (const int64_t chunk : {int64_t{64}, int64_t{256}})
    for (const bool stochastic : {false, true})
      expect_same_bits(
          d,
          [&](const Device& dev, Stream& s) {
            const int64_t chunks = (n + chunk - 1) / chunk;
            const Tensor xs = Tensor::from_vector(dev, {n}, x), unit = Tensor::empty(dev, {chunks}),
                         q = Tensor::empty(dev, {n}, DType::i8), means = Tensor::empty(dev, {chunks}),
                         bits = Tensor::empty(dev, {(n + 7) / 8}, DType::u8), y = Tensor::empty(dev, {n});
            ops::quantize(s, xs, unit, q,
                          {chunk, 7, stochastic ? QuantScale::norm2 : QuantScale::absmax, stochastic, key});
            ops::sign_pack(s, xs, means, bits, {chunk});
            ops::sign_unpack(s, bits, means, y, {chunk});
            return std::vector<Tensor>{unit, q, means, bits, y};
          },
          "codec over many tiles, chunk " + std::to_string(chunk) + (stochastic ? " qsgd" : " int8"));
}

TEST(CudaBits, PoolingWithOverlappingWindows) {
  NEED_CUDA(d);
  const std::vector<float> x = wave(2 * 3 * 9 * 11, 1.0f);
  expect_same_bits(
      d,
      [&](const Device& dev, Stream& s) {
        const Tensor xs = Tensor::from_vector(dev, {2, 3, 9, 11}, x), y = Tensor::empty(dev, {2, 3, 7, 9}),
                     idx = Tensor::empty(dev, {2, 3, 7, 9}, DType::i32), dx = Tensor::empty(dev, {2, 3, 9, 11});
        ops::maxpool2d_forward(s, xs, y, idx, {3, 1});
        ops::maxpool2d_backward(s, y, idx, dx);
        return std::vector<Tensor>{y, idx, dx};
      },
      "maxpool 3x3 stride 1");
}

}  // namespace
}  // namespace tandem
