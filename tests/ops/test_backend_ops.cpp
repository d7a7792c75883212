// Every layer op on every device against the naive reference (the pattern of ggml's
// test-backend-ops): one case per op and shape, run on each registered device. A device
// without a kernel for an op reports NOT_SUPPORTED (skipped), never a silent pass.
#include <cmath>
#include <functional>

#include "cases.h"

namespace tandem::test {
namespace {

void add_gemm_cases(std::vector<OpCase>& cases) {
  struct G {
    int64_t m, n, k;
  };
  uint32_t seed = 1;
  for (G g : {G{1, 1, 1}, G{7, 13, 5}, G{33, 17, 64}, G{64, 64, 64}, G{3, 100, 2}})
    for (int t = 0; t < 4; ++t) {
      const GemmParams p{(t & 1) != 0, (t & 2) != 0, t == 3 ? 0.5f : 1.0f, t >= 2 ? 0.75f : 0.0f};
      const std::string name = "gemm/" + std::to_string(g.m) + "x" + std::to_string(g.n) + "x" + std::to_string(g.k) +
                               (p.trans_a ? "_ta" : "") + (p.trans_b ? "_tb" : "") + (p.beta != 0 ? "_beta" : "");
      cases.push_back({name, &opdesc::gemm, [g, p, s = seed++](const Device& d, Stream& st) {
                         const ref::Host a = ref::random(p.trans_a ? Shape{g.k, g.m} : Shape{g.m, g.k}, s);
                         const ref::Host b = ref::random(p.trans_b ? Shape{g.n, g.k} : Shape{g.k, g.n}, s + 100);
                         const ref::Host c = ref::random({g.m, g.n}, s + 200);
                         Tensor A = up(d, a), B = up(d, b), C = up(d, c);
                         ops::gemm(st, A, B, C, p);
                         expect_close(down(C).v, ref::gemm(a, b, c, p).v, 1e-4, 1e-4, "gemm");
                       }});
    }
  // f16 / bf16 storage: the reference sees the rounded inputs; the output is rounded once more.
  for (DType t : {DType::f16, DType::bf16})
    cases.push_back(
        {"gemm/17x9x31_beta_" + std::string(dtype_name(t)), &opdesc::gemm, [t](const Device& d, Stream& st) {
           const GemmParams p{false, true, 1.0f, 0.5f};
           const ref::Host a = rounded(ref::random({17, 31}, 7), t), b = rounded(ref::random({9, 31}, 8), t);
           const ref::Host c = rounded(ref::random({17, 9}, 9), t);
           Tensor A = up(d, a, t), B = up(d, b, t), C = up(d, c, t);
           ops::gemm(st, A, B, C, p);
           const double tol = t == DType::f16 ? 2e-3 : 1.6e-2;
           expect_close(down(C).v, ref::gemm(a, b, c, p).v, tol, tol, "gemm " + std::string(dtype_name(t)));
         }});
}

struct ConvGeom {
  int64_t n, c, h, w, k, r, s;
  int sh, sw, ph, pw;
  std::string str() const {
    return std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w) + "_k" +
           std::to_string(k) + "_" + std::to_string(r) + "x" + std::to_string(s) + "_s" + std::to_string(sh) +
           std::to_string(sw) + "_p" + std::to_string(ph) + std::to_string(pw);
  }
};

const std::vector<ConvGeom> conv_geometries = {
    {2, 3, 7, 5, 4, 3, 3, 1, 1, 1, 1},     {1, 2, 8, 9, 3, 3, 2, 2, 2, 1, 0}, {3, 1, 5, 5, 2, 5, 5, 1, 1, 0, 0},
    {2, 4, 6, 6, 5, 1, 1, 1, 1, 0, 0},     {1, 3, 9, 7, 2, 3, 3, 3, 2, 2, 2}, {1, 1, 4, 4, 1, 3, 3, 1, 1, 2, 2},
    {4, 16, 14, 14, 32, 3, 3, 1, 1, 1, 1},  // the benchmark CNN's second layer
};

void add_conv_cases(std::vector<OpCase>& cases) {
  uint32_t seed = 1000;
  for (const ConvGeom& g : conv_geometries) {
    const Conv2dParams p{g.sh, g.sw, g.ph, g.pw};
    const Shape xs{g.n, g.c, g.h, g.w}, ws{g.k, g.c, g.r, g.s};
    const Shape ys{g.n, g.k, window_out(g.h, g.r, g.sh, g.ph), window_out(g.w, g.s, g.sw, g.pw)};
    const uint32_t s = seed += 10;
    cases.push_back({"conv2d_forward/" + g.str(), &opdesc::conv2d_forward, [=](const Device& d, Stream& st) {
                       const ref::Host x = ref::random(xs, s), w = ref::random(ws, s + 1);
                       Tensor X = up(d, x), W = up(d, w), Y = Tensor::empty(d, ys);
                       ops::conv2d_forward(st, X, W, Y, p);
                       expect_close(down(Y).v, ref::conv2d_forward(x, w, p).v, 2e-4, 1e-4, "conv2d_forward");
                     }});
    cases.push_back(
        {"conv2d_backward_data/" + g.str(), &opdesc::conv2d_backward_data, [=](const Device& d, Stream& st) {
           const ref::Host dy = ref::random(ys, s + 2), w = ref::random(ws, s + 1);
           Tensor DY = up(d, dy), W = up(d, w), DX = Tensor::empty(d, xs);
           ops::conv2d_backward_data(st, DY, W, DX, p);
           expect_close(down(DX).v, ref::conv2d_backward_data(dy, w, xs, p).v, 2e-4, 1e-4, "conv2d_backward_data");
         }});
    cases.push_back(
        {"conv2d_backward_weights/" + g.str(), &opdesc::conv2d_backward_weights, [=](const Device& d, Stream& st) {
           const ref::Host x = ref::random(xs, s), dy = ref::random(ys, s + 2);
           Tensor X = up(d, x), DY = up(d, dy), DW = Tensor::empty(d, ws);
           ops::conv2d_backward_weights(st, X, DY, DW, p);
           expect_close(down(DW).v, ref::conv2d_backward_weights(x, dy, ws, p).v, 5e-4, 1e-4,
                        "conv2d_backward_weights");
         }});
  }
}

void add_activation_cases(std::vector<OpCase>& cases) {
  for (const Shape& s : {Shape{5, 3}, Shape{2, 4, 3, 5}, Shape{1, 7, 1, 1}, Shape{64, 32, 14, 14}}) {
    cases.push_back({"bias_add/" + s.str(), &opdesc::bias_add, [s](const Device& d, Stream& st) {
                       const ref::Host y = ref::random(s, 11), b = ref::random({s[1]}, 12);
                       Tensor Y = up(d, y), B = up(d, b);
                       ops::bias_add(st, Y, B);
                       expect_close(down(Y).v, ref::bias_add(y, b).v, 1e-6, 1e-6, "bias_add");
                     }});
    cases.push_back({"bias_backward/" + s.str(), &opdesc::bias_backward, [s](const Device& d, Stream& st) {
                       const ref::Host dy = ref::random(s, 13);
                       Tensor DY = up(d, dy), DB = Tensor::empty(d, {s[1]});
                       ops::bias_backward(st, DY, DB);
                       expect_close(down(DB).v, ref::bias_backward(dy).v, 1e-4, 1e-5, "bias_backward");
                     }});
  }
  for (const Shape& s : {Shape{1}, Shape{1000}, Shape{3, 5, 7, 9}, Shape{70001}}) {
    cases.push_back({"relu_forward/" + s.str(), &opdesc::relu_forward, [s](const Device& d, Stream& st) {
                       const ref::Host x = ref::random(s, 21);
                       Tensor X = up(d, x), Y = Tensor::empty(d, s);
                       ops::relu_forward(st, X, Y);
                       expect_close(down(Y).v, ref::relu_forward(x).v, 0, 0, "relu_forward");
                       ops::relu_forward(st, X, X);  // in place
                       expect_close(down(X).v, ref::relu_forward(x).v, 0, 0, "relu_forward in place");
                     }});
    cases.push_back({"relu_backward/" + s.str(), &opdesc::relu_backward, [s](const Device& d, Stream& st) {
                       const ref::Host x = ref::random(s, 22), dy = ref::random(s, 23);
                       Tensor X = up(d, x), DY = up(d, dy), DX = Tensor::empty(d, s);
                       ops::relu_backward(st, X, DY, DX);
                       expect_close(down(DX).v, ref::relu_backward(x, dy).v, 0, 0, "relu_backward");
                     }});
  }
}

void add_pool_cases(std::vector<OpCase>& cases) {
  struct P {
    Shape x;
    Pool2dParams p;
    bool ties;
  };
  for (const P& c :
       {P{{2, 3, 8, 8}, {2, 2}, false}, P{{1, 2, 7, 9}, {2, 2}, false}, P{{2, 1, 9, 9}, {3, 2}, false},
        P{{1, 1, 5, 5}, {3, 1}, false}, P{{2, 2, 4, 6}, {2, 2}, true}, P{{16, 16, 28, 28}, {2, 2}, false}}) {
    const std::string name =
        c.x.str() + "_k" + std::to_string(c.p.kernel) + "s" + std::to_string(c.p.stride) + (c.ties ? "_ties" : "");
    auto input = [c] {
      ref::Host x = ref::spaced(c.x, 31, 0.01f);
      if (c.ties) std::fill(x.v.begin(), x.v.end(), 0.25f);
      return x;
    };
    cases.push_back({"maxpool2d_forward/" + name, &opdesc::maxpool2d_forward, [c, input](const Device& d, Stream& st) {
                       const ref::Host x = input();
                       std::vector<int32_t> want_idx;
                       const ref::Host want = ref::maxpool2d_forward(x, c.p, want_idx);
                       Tensor X = up(d, x), Y = Tensor::empty(d, want.shape),
                              I = Tensor::empty(d, want.shape, DType::i32);
                       ops::maxpool2d_forward(st, X, Y, I, c.p);
                       expect_close(down(Y).v, want.v, 0, 0, "maxpool2d_forward values");
                       EXPECT_EQ(I.to_vector<int32_t>(), want_idx) << "maxpool2d_forward indices";
                     }});
    cases.push_back(
        {"maxpool2d_backward/" + name, &opdesc::maxpool2d_backward, [c, input](const Device& d, Stream& st) {
           std::vector<int32_t> idx;
           const ref::Host y = ref::maxpool2d_forward(input(), c.p, idx);
           const ref::Host dy = ref::random(y.shape, 32);
           Tensor DY = up(d, dy), I = up_i32(d, y.shape, idx), DX = Tensor::empty(d, c.x);
           ops::maxpool2d_backward(st, DY, I, DX);
           expect_close(down(DX).v, ref::maxpool2d_backward(dy, idx, c.x).v, 1e-6, 1e-6, "maxpool2d_backward");
         }});
  }
}

void add_loss_cases(std::vector<OpCase>& cases) {
  for (const Shape& s : {Shape{1, 10}, Shape{7, 3}, Shape{64, 10}, Shape{5, 1000}}) {
    auto labels = [s] {
      std::vector<int32_t> l(static_cast<size_t>(s[0]));
      for (size_t i = 0; i < l.size(); ++i) l[i] = static_cast<int32_t>((i * 7 + 3) % static_cast<size_t>(s[1]));
      return l;
    };
    cases.push_back(
        {"softmax_xent_forward/" + s.str(), &opdesc::softmax_xent_forward, [s, labels](const Device& d, Stream& st) {
           const ref::Host logits = ref::random(s, 41, -20.0f, 20.0f);  // large: tests stability
           float want_loss = 0;
           const ref::Host want = ref::softmax_xent_forward(logits, labels(), want_loss);
           Tensor L = up(d, logits), Y = up_i32(d, {s[0]}, labels()), P = Tensor::empty(d, s),
                  loss = Tensor::empty(d, {1});
           ops::softmax_xent_forward(st, L, Y, P, loss);
           expect_close(down(P).v, want.v, 1e-6, 1e-5, "softmax_xent_forward probs");
           expect_close(down(loss).v, {want_loss}, 1e-5, 1e-5, "softmax_xent_forward loss");
         }});
    cases.push_back(
        {"softmax_xent_backward/" + s.str(), &opdesc::softmax_xent_backward, [s, labels](const Device& d, Stream& st) {
           float unused = 0;
           const ref::Host probs = ref::softmax_xent_forward(ref::random(s, 42, -3, 3), labels(), unused);
           Tensor P = up(d, probs), Y = up_i32(d, {s[0]}, labels()), DL = Tensor::empty(d, s);
           ops::softmax_xent_backward(st, P, Y, DL, 0.5f);
           expect_close(down(DL).v, ref::softmax_xent_backward(probs, labels(), 0.5f).v, 1e-7, 1e-5,
                        "softmax_xent_backward");
         }});
  }
}

void add_elementwise_cases(std::vector<OpCase>& cases) {
  for (DType t : {DType::f32, DType::f16, DType::bf16})
    for (int64_t n : {int64_t{1}, int64_t{1023}, int64_t{5000}, int64_t{70001}}) {
      const std::string suffix = "/" + std::to_string(n) + "_" + std::string(dtype_name(t));
      // f32 exact up to one rounding; f16/bf16 round the result once more.
      const double tol = t == DType::f32 ? 1e-6 : t == DType::f16 ? 1e-3 : 8e-3;
      cases.push_back({"axpy" + suffix, &opdesc::axpy, [=](const Device& d, Stream& st) {
                         const ref::Host x = rounded(ref::random({n}, 51), t), y = rounded(ref::random({n}, 52), t);
                         Tensor X = up(d, x, t), Y = up(d, y, t);
                         ops::axpy(st, -0.5f, X, Y);
                         ref::Host want = y;
                         for (size_t i = 0; i < want.v.size(); ++i) want.v[i] += -0.5f * x.v[i];
                         expect_close(down(Y).v, want.v, tol, tol, "axpy");
                       }});
      cases.push_back({"fill" + suffix, &opdesc::fill, [=](const Device& d, Stream& st) {
                         Tensor X = up(d, ref::random({n}, 54), t);
                         ops::fill(st, X, -2.5f);
                         expect_close(down(X).v, std::vector<float>(static_cast<size_t>(n), -2.5f), 0, 0, "fill");
                       }});
      cases.push_back({"scale" + suffix, &opdesc::scale, [=](const Device& d, Stream& st) {
                         const ref::Host x = rounded(ref::random({n}, 53), t);
                         Tensor X = up(d, x, t);
                         ops::scale(st, 3.0f, X);
                         ref::Host want = x;
                         for (float& v : want.v) v *= 3.0f;
                         expect_close(down(X).v, want.v, tol, tol, "scale");
                       }});
      cases.push_back({"mul" + suffix, &opdesc::mul, [=](const Device& d, Stream& st) {
                         const ref::Host a = rounded(ref::random({n}, 56), t), b = rounded(ref::random({n}, 57), t);
                         Tensor A = up(d, a, t), B = up(d, b, t), C = Tensor::empty(d, {n}, t);
                         ops::mul(st, A, B, C);
                         ref::Host want = a;
                         for (size_t i = 0; i < want.v.size(); ++i) want.v[i] *= b.v[i];
                         expect_close(down(C).v, want.v, tol, tol, "mul");
                         ops::mul(st, A, B, B);  // c aliasing b
                         expect_close(down(B).v, want.v, tol, tol, "mul in place");
                       }});
      cases.push_back({"sub" + suffix, &opdesc::sub, [=](const Device& d, Stream& st) {
                         const ref::Host a = rounded(ref::random({n}, 58), t), b = rounded(ref::random({n}, 59), t);
                         Tensor A = up(d, a, t), B = up(d, b, t), C = Tensor::empty(d, {n}, t);
                         ops::sub(st, A, B, C);
                         ref::Host want = a;
                         for (size_t i = 0; i < want.v.size(); ++i) want.v[i] -= b.v[i];
                         expect_close(down(C).v, want.v, tol, tol, "sub");
                         ops::sub(st, A, B, A);  // c aliasing a
                         expect_close(down(A).v, want.v, tol, tol, "sub in place");
                       }});
      cases.push_back({"add" + suffix, &opdesc::add, [=](const Device& d, Stream& st) {
                         const ref::Host a = rounded(ref::random({n}, 54), t), b = rounded(ref::random({n}, 55), t);
                         Tensor A = up(d, a, t), B = up(d, b, t), C = Tensor::empty(d, {n}, t);
                         ops::add(st, A, B, C);
                         ref::Host want = a;
                         for (size_t i = 0; i < want.v.size(); ++i) want.v[i] += b.v[i];
                         expect_close(down(C).v, want.v, tol, tol, "add");
                         ops::add(st, A, B, A);  // c aliasing a
                         expect_close(down(A).v, want.v, tol, tol, "add in place");
                       }});
    }
  // cast between floating types: exactly the host conversion functions.
  for (DType from : {DType::f32, DType::f16, DType::bf16})
    for (DType to : {DType::f32, DType::f16, DType::bf16})
      cases.push_back({"cast/" + std::string(dtype_name(from)) + "_to_" + std::string(dtype_name(to)), &opdesc::cast,
                       [=](const Device& d, Stream& st) {
                         const ref::Host x = rounded(ref::random({777}, 61, -70000.0f, 70000.0f), from);
                         Tensor X = up(d, x, from), Y = Tensor::empty(d, {777}, to);
                         ops::cast(st, X, Y);
                         expect_close(down(Y).v, rounded(x, to).v, 0, 0, "cast");
                       }});
  // to integers: round to nearest, saturate, NaN → 0.
  cases.push_back(
      {"cast/f32_to_i8_i32_u8", &opdesc::cast, [](const Device& d, Stream& st) {
         const std::vector<float> x{-1000.0f, -128.6f, -2.5f, -0.4f, 0.0f, 0.5f, 1.49f, 127.4f, 300.0f, NAN};
         Tensor X = Tensor::from_vector(d, {10}, x);
         Tensor I8 = Tensor::empty(d, {10}, DType::i8), U8 = Tensor::empty(d, {10}, DType::u8),
                I32 = Tensor::empty(d, {10}, DType::i32);
         ops::cast(st, X, I8);
         ops::cast(st, X, U8);
         ops::cast(st, X, I32);
         EXPECT_EQ(I8.to_vector<int8_t>(), (std::vector<int8_t>{-128, -128, -3, 0, 0, 1, 1, 127, 127, 0}));
         EXPECT_EQ(U8.to_vector<uint8_t>(), (std::vector<uint8_t>{0, 0, 0, 0, 0, 1, 1, 127, 255, 0}));
         EXPECT_EQ(I32.to_vector<int32_t>(), (std::vector<int32_t>{-1000, -129, -3, 0, 0, 1, 1, 127, 300, 0}));
         Tensor back = Tensor::empty(d, {10});
         ops::cast(st, I32, back);
         EXPECT_EQ(back.to_vector<float>(), (std::vector<float>{-1000, -129, -3, 0, 0, 1, 1, 127, 300, 0}));
       }});
}

// Codec primitives: the reference applies the definitions directly (the random stream is the
// shared Philox of tandem/numeric/philox.h, itself checked against known answers), and
// devices must match it exactly — that is what makes compressed gradients device-independent.
const std::vector<OpCase>& all_cases() {
  static const std::vector<OpCase> cases = [] {
    std::vector<OpCase> c;
    add_gemm_cases(c);
    add_conv_cases(c);
    add_activation_cases(c);
    add_pool_cases(c);
    add_loss_cases(c);
    add_elementwise_cases(c);
    add_codec_primitive_cases(c);
    return c;
  }();
  return cases;
}

std::vector<size_t> case_indices() {
  std::vector<size_t> idx(all_cases().size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  return idx;
}

class BackendOps : public ::testing::TestWithParam<std::tuple<std::string, size_t>> {};

TEST_P(BackendOps, MatchesReference) {
  const Device d = find_device(std::get<0>(GetParam()));
  const OpCase& c = all_cases()[std::get<1>(GetParam())];
  const std::optional<std::string> expected = expected_refusal(d, *c.op, c.name);
  std::string refusal;
  if (!d.supports(*c.op)) {
    refusal = "no kernel";
  } else {
    Stream s(d);
    try {
      c.run(d, s);
      s.synchronize();
    } catch (const Error& e) {  // the device has the op, but not this variant (e.g. f16 on an f32 core)
      if (e.kind() != ErrorKind::unsupported) throw;
      refusal = e.what();
    }
  }
  if (refusal.empty()) {
    EXPECT_FALSE(expected) << "tests/ops/expected_support.cpp says " << d.id() << " refuses " << c.name << " ("
                           << *expected << "), but it ran: take it out of the table";
    return;
  }
  if (!expected) FAIL() << unexpected_refusal(d, *c.op, refusal);
  GTEST_SKIP() << "NOT_SUPPORTED (expected: " << *expected << "): " << refusal;
}

INSTANTIATE_TEST_SUITE_P(AllDevices, BackendOps,
                         ::testing::Combine(::testing::ValuesIn(device_ids()), ::testing::ValuesIn(case_indices())),
                         [](const auto& info) {
                           return param_name(std::get<0>(info.param) + "__" +
                                             all_cases()[std::get<1>(info.param)].name);
                         });

// Every op linked into the program has at least one case above, so a new op cannot be added
// without its test.
TEST(BackendOpsCoverage, EveryOpHasACase) {
  for (const OpDesc* op : all_ops()) {
    bool found = false;
    for (const OpCase& c : all_cases()) found = found || c.op == op;
    EXPECT_TRUE(found) << "op " << op->name << " has no case in tests/ops/";
  }
}

// Every descriptor says how it uses each tensor (what byte costs, XRT staging and memory
// planning go by), and its in-place declarations name roles it has.
TEST(BackendOpsCoverage, EveryOpDeclaresAccessModes) {
  for (const OpDesc* op : all_ops()) {
    ASSERT_EQ(op->output_access.size(), op->outputs.size()) << op->name;
    for (size_t i = 0; i < op->outputs.size(); ++i)
      EXPECT_NE(op->output_access[i], Access::read) << op->name << ": output " << op->outputs[i] << " is read only";
    for (const auto& [o, in] : op->in_place) {
      EXPECT_TRUE(o >= 0 && o < static_cast<int>(op->outputs.size())) << op->name << ": in-place output unknown";
      EXPECT_TRUE(in >= 0 && in < static_cast<int>(op->inputs.size())) << op->name << ": in-place input unknown";
    }
  }
  // The ops that update a tensor say so (their costs count it twice).
  for (const OpDesc* op : {&opdesc::axpy, &opdesc::scale, &opdesc::bias_add, &opdesc::scatter_add,
                           &opdesc::orthonormalize, &opdesc::gemm})
    EXPECT_EQ(op->output_access[0], Access::read_write) << op->name;
  EXPECT_TRUE(opdesc::add.may_alias(0, 0) && opdesc::add.may_alias(0, 1));
  EXPECT_FALSE(opdesc::axpy.may_alias(0, 0));
}

}  // namespace
}  // namespace tandem::test
