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
  int dh = 1, dw = 1, groups = 1;
  Conv2dParams params() const { return {sh, sw, ph, pw, dh, dw, groups}; }
  // "_groups" and "_dilation" name the variants a device may refuse (expected_support.cpp).
  std::string str() const {
    return std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w) + "_k" +
           std::to_string(k) + "_" + std::to_string(r) + "x" + std::to_string(s) + "_s" + std::to_string(sh) +
           std::to_string(sw) + "_p" + std::to_string(ph) + std::to_string(pw) +
           (groups != 1 ? "_groups" + std::to_string(groups) : "") +
           (dh != 1 || dw != 1 ? "_dilation" + std::to_string(dh) + std::to_string(dw) : "");
  }
};

const std::vector<ConvGeom> conv_geometries = {
    {2, 3, 7, 5, 4, 3, 3, 1, 1, 1, 1},
    {1, 2, 8, 9, 3, 3, 2, 2, 2, 1, 0},
    {3, 1, 5, 5, 2, 5, 5, 1, 1, 0, 0},
    {2, 4, 6, 6, 5, 1, 1, 1, 1, 0, 0},
    {1, 3, 9, 7, 2, 3, 3, 3, 2, 2, 2},
    {1, 1, 4, 4, 1, 3, 3, 1, 1, 2, 2},
    {4, 16, 14, 14, 32, 3, 3, 1, 1, 1, 1},  // the benchmark CNN's second layer
    // Groups: 2 groups; depthwise (groups = C), with a channel multiplier of 2 and stride 2; a
    // MobileNet-sized depthwise layer.
    {2, 4, 7, 5, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2},
    {2, 6, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6},
    {1, 4, 9, 9, 8, 3, 3, 2, 2, 1, 1, 1, 1, 4},
    {4, 32, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32},
    {1, 4, 5, 5, 4, 5, 5, 1, 1, 2, 2, 1, 1, 4},  // depthwise, most taps outside the image
    // Dilation: 2 with "same" padding (the CPU's contiguous-row path), 2x3 with stride 2x1, and
    // with groups and depthwise.
    {2, 3, 9, 8, 4, 3, 3, 1, 1, 2, 2, 2, 2},
    {1, 2, 11, 10, 3, 3, 2, 2, 1, 1, 0, 2, 3},
    {2, 6, 9, 7, 4, 3, 3, 1, 2, 2, 1, 2, 1, 2},
    {2, 8, 10, 10, 8, 3, 3, 2, 2, 2, 2, 2, 2, 8},
};

void add_conv_cases(std::vector<OpCase>& cases) {
  uint32_t seed = 1000;
  for (const ConvGeom& g : conv_geometries) {
    const Conv2dParams p = g.params();
    const Shape xs{g.n, g.c, g.h, g.w}, ws{g.k, g.c / g.groups, g.r, g.s};
    const Shape ys{g.n, g.k, window_out(g.h, g.r, g.sh, g.ph, g.dh), window_out(g.w, g.s, g.sw, g.pw, g.dw)};
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
    cases.push_back({"bias_relu/" + s.str(), &opdesc::bias_relu, [s](const Device& d, Stream& st) {
                       const ref::Host y = ref::random(s, 11), b = ref::random({s[1]}, 12);
                       Tensor Y = up(d, y), B = up(d, b);
                       ops::bias_relu(st, Y, B);
                       // Exactly the unfused pair: the same f32 sum, then the same max.
                       expect_close(down(Y).v, ref::relu_forward(ref::bias_add(y, b)).v, 0, 0, "bias_relu");
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
    cases.push_back({"add_relu/" + s.str(), &opdesc::add_relu, [s](const Device& d, Stream& st) {
                       const ref::Host a = ref::random(s, 24), b = ref::random(s, 25);
                       ref::Host sum = a;
                       for (size_t i = 0; i < sum.v.size(); ++i) sum.v[i] += b.v[i];
                       const ref::Host want = ref::relu_forward(sum);  // exactly the pair: one f32 sum, one max
                       Tensor A = up(d, a), B = up(d, b), C = Tensor::empty(d, s);
                       ops::add_relu(st, A, B, C);
                       expect_close(down(C).v, want.v, 0, 0, "add_relu");
                       ops::add_relu(st, A, B, B);  // in place of either input
                       expect_close(down(B).v, want.v, 0, 0, "add_relu into b");
                       ops::add_relu(st, A, up(d, b), A);
                       expect_close(down(A).v, want.v, 0, 0, "add_relu into a");
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
    // Fused after a bias and a ReLU: exactly the three ops in a row (a bias straddling zero, so
    // that windows are all-zero, partly and wholly positive).
    cases.push_back(
        {"bias_relu_maxpool2d/" + name, &opdesc::bias_relu_maxpool2d, [c, input](const Device& d, Stream& st) {
           const ref::Host x = input(), bias = ref::random({c.x[1]}, 33, -0.6f, 0.6f);
           std::vector<int32_t> want_idx;
           const ref::Host want = ref::maxpool2d_forward(ref::relu_forward(ref::bias_add(x, bias)), c.p, want_idx);
           Tensor X = up(d, x), B = up(d, bias), Y = Tensor::empty(d, want.shape),
                  I = Tensor::empty(d, want.shape, DType::i32);
           ops::bias_relu_maxpool2d(st, X, B, Y, I, c.p);
           expect_close(down(Y).v, want.v, 0, 0, "bias_relu_maxpool2d values");
           EXPECT_EQ(I.to_vector<int32_t>(), want_idx) << "bias_relu_maxpool2d indices";
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

void add_avgpool_cases(std::vector<OpCase>& cases) {
  struct P {
    Shape x;
    Pool2dParams p;
  };
  // Non-overlapping, overlapping (stride < kernel), gapped (stride > kernel), floor mode leaving
  // rows and columns uncovered, a window the size of the plane, and a large batch.
  for (const P& c : {P{{2, 3, 8, 8}, {2, 2}}, P{{1, 2, 7, 9}, {3, 2}}, P{{2, 1, 9, 9}, {3, 1}},
                     P{{1, 2, 10, 11}, {2, 3}}, P{{2, 2, 5, 5}, {5, 1}}, P{{16, 16, 28, 28}, {2, 2}}}) {
    const std::string name = c.x.str() + "_k" + std::to_string(c.p.kernel) + "s" + std::to_string(c.p.stride);
    const Shape ys{c.x[0], c.x[1], window_out(c.x[2], c.p.kernel, c.p.stride, 0),
                   window_out(c.x[3], c.p.kernel, c.p.stride, 0)};
    cases.push_back({"avgpool2d_forward/" + name, &opdesc::avgpool2d_forward, [c, ys](const Device& d, Stream& st) {
                       const ref::Host x = ref::random(c.x, 93);
                       Tensor X = up(d, x), Y = Tensor::empty(d, ys);
                       ops::avgpool2d_forward(st, X, Y, c.p);
                       expect_close(down(Y).v, ref::avgpool2d_forward(x, c.p).v, 1e-6, 1e-5, "avgpool2d_forward");
                     }});
    cases.push_back({"avgpool2d_backward/" + name, &opdesc::avgpool2d_backward, [c, ys](const Device& d, Stream& st) {
                       const ref::Host dy = ref::random(ys, 94);
                       Tensor DY = up(d, dy), DX = up(d, ref::random(c.x, 95));  // overwritten everywhere
                       ops::avgpool2d_backward(st, DY, DX, c.p);
                       expect_close(down(DX).v, ref::avgpool2d_backward(dy, c.x, c.p).v, 1e-6, 1e-5,
                                    "avgpool2d_backward");
                     }});
  }
}

void add_global_avgpool_cases(std::vector<OpCase>& cases) {
  for (const Shape& s :
       {Shape{1, 1, 1, 1}, Shape{2, 3, 7, 7}, Shape{4, 5, 1, 9}, Shape{8, 64, 14, 14}, Shape{2, 3, 100, 101}}) {
    cases.push_back(
        {"global_avgpool_forward/" + s.str(), &opdesc::global_avgpool_forward, [s](const Device& d, Stream& st) {
           const ref::Host x = ref::random(s, 91, -1.0f, 3.0f);
           Tensor X = up(d, x), Y = Tensor::empty(d, {s[0], s[1]});
           ops::global_avgpool_forward(st, X, Y);
           expect_close(down(Y).v, ref::global_avgpool_forward(x).v, 1e-6, 1e-6, "global_avgpool_forward");
         }});
    cases.push_back(
        {"global_avgpool_backward/" + s.str(), &opdesc::global_avgpool_backward, [s](const Device& d, Stream& st) {
           const ref::Host dy = ref::random({s[0], s[1]}, 92);
           Tensor DY = up(d, dy), DX = Tensor::empty(d, s);
           ops::global_avgpool_backward(st, DY, DX);
           expect_close(down(DX).v, ref::global_avgpool_backward(dy, s).v, 0, 0, "global_avgpool_backward");
         }});
  }
}

// Batch normalization: every output and updated statistic against the double-precision
// reference; the offset shapes have a mean far from 0 (the variance must not cancel).
void add_batchnorm_cases(std::vector<OpCase>& cases) {
  struct B {
    Shape x;
    float offset;
  };
  for (const B& b : {B{{2, 3}, 0.0f}, B{{8, 5, 3}, 0.0f}, B{{4, 3, 5, 7}, 0.0f}, B{{2, 16, 14, 14}, 10.0f},
                     B{{32, 8, 28, 28}, 0.0f}, B{{3, 4, 1, 1}, -5.0f}}) {
    const std::string name = b.x.str() + (b.offset != 0 ? "_offset" : "");
    const int64_t c = b.x[1];
    auto input = [b] {
      ref::Host x = ref::random(b.x, 71);
      for (float& v : x.v) v += b.offset;
      return x;
    };
    for (const bool relu : {false, true}) {  // relu: BN + ReLU fused, against the reference's BN then ReLU
      const BatchNormParams p{1e-3f, 0.25f, relu};
      const std::string tag = name + (relu ? "_relu" : "");
      const auto out = [relu](const ref::Host& y) { return relu ? ref::relu_forward(y) : y; };
      cases.push_back(
          {"batchnorm_forward_train/" + tag, &opdesc::batchnorm_forward_train, [=](const Device& d, Stream& st) {
             const ref::Host x = input(), gamma = ref::random({c}, 72, 0.5f, 2.0f), beta = ref::random({c}, 73),
                             rm = ref::random({c}, 74), rv = ref::random({c}, 75, 0.5f, 2.0f);
             const ref::BatchNormTrain want = ref::batchnorm_forward_train(x, gamma, beta, rm, rv, p);
             Tensor X = up(d, x), G = up(d, gamma), B = up(d, beta), Y = Tensor::empty(d, b.x),
                    M = Tensor::empty(d, {c}), I = Tensor::empty(d, {c}), RM = up(d, rm), RV = up(d, rv);
             ops::batchnorm_forward_train(st, X, G, B, Y, M, I, RM, RV, p);
             expect_close(down(Y).v, out(want.y).v, 2e-5, 2e-5, "batchnorm_forward_train y");
             expect_close(down(M).v, want.save_mean.v, 1e-6, 1e-6, "batchnorm_forward_train save_mean");
             expect_close(down(I).v, want.save_invstd.v, 1e-6, 1e-5, "batchnorm_forward_train save_invstd");
             expect_close(down(RM).v, want.running_mean.v, 1e-6, 1e-5, "batchnorm running_mean");
             expect_close(down(RV).v, want.running_var.v, 1e-6, 1e-5, "batchnorm running_var");
           }});
      cases.push_back(
          {"batchnorm_forward_infer/" + tag, &opdesc::batchnorm_forward_infer, [=](const Device& d, Stream& st) {
             const ref::Host x = input(), gamma = ref::random({c}, 76, 0.5f, 2.0f), beta = ref::random({c}, 77),
                             rm = ref::random({c}, 78), rv = ref::random({c}, 79, 0.5f, 2.0f);
             const ref::Host want = out(ref::batchnorm_forward_infer(x, gamma, beta, rm, rv, p));
             Tensor X = up(d, x), G = up(d, gamma), B = up(d, beta), RM = up(d, rm), RV = up(d, rv),
                    Y = Tensor::empty(d, b.x);
             ops::batchnorm_forward_infer(st, X, G, B, RM, RV, Y, p);
             expect_close(down(Y).v, want.v, 2e-5, 2e-5, "batchnorm_forward_infer");
             ops::batchnorm_forward_infer(st, X, G, B, RM, RV, X, p);  // in place
             expect_close(down(X).v, want.v, 2e-5, 2e-5, "batchnorm_forward_infer in place");
           }});
    }
    // Folding into weights [C, 3, 2, 2] before it: against the double-precision scale.
    cases.push_back({"batchnorm_fold/" + name, &opdesc::batchnorm_fold, [=](const Device& d, Stream& st) {
                       const ref::Host w = ref::random({c, 3, 2, 2}, 82), gamma = ref::random({c}, 83, 0.5f, 2.0f),
                                       beta = ref::random({c}, 84), rm = ref::random({c}, 85),
                                       rv = ref::random({c}, 86, 0.5f, 2.0f), bias = ref::random({c}, 87);
                       ref::Host want_w = w, want_b = bias;
                       for (int64_t k = 0; k < c; ++k) {
                         const double scale = gamma.v[k] / std::sqrt(double(rv.v[k]) + 1e-3);
                         for (int64_t i = 0; i < 12; ++i) want_w.v[k * 12 + i] = float(w.v[k * 12 + i] * scale);
                         want_b.v[k] = float((double(bias.v[k]) - rm.v[k]) * scale + beta.v[k]);
                       }
                       Tensor W = up(d, w), G = up(d, gamma), B = up(d, beta), RM = up(d, rm), RV = up(d, rv),
                              WO = Tensor::empty(d, {c, 3, 2, 2}), BO = up(d, bias);
                       ops::batchnorm_fold(st, W, G, B, RM, RV, WO, BO, BatchNormParams{1e-3f, 0.25f});
                       expect_close(down(WO).v, want_w.v, 1e-6, 1e-6, "batchnorm_fold w");
                       expect_close(down(BO).v, want_b.v, 1e-6, 1e-6, "batchnorm_fold bias");
                     }});
    cases.push_back({"batchnorm_backward/" + name, &opdesc::batchnorm_backward, [=](const Device& d, Stream& st) {
                       const ref::Host x = input(), dy = ref::random(b.x, 80), gamma = ref::random({c}, 81, 0.5f, 2.0f);
                       // The statistics the training pass saves, as the reference computes them.
                       const ref::BatchNormTrain fwd =
                           ref::batchnorm_forward_train(x, gamma, gamma, gamma, gamma, BatchNormParams{1e-3f, 0.25f});
                       const ref::BatchNormGrads want =
                           ref::batchnorm_backward(x, dy, gamma, fwd.save_mean, fwd.save_invstd);
                       Tensor X = up(d, x), DY = up(d, dy), G = up(d, gamma), M = up(d, fwd.save_mean),
                              I = up(d, fwd.save_invstd), DX = Tensor::empty(d, b.x), DG = Tensor::empty(d, {c}),
                              DB = Tensor::empty(d, {c});
                       ops::batchnorm_backward(st, X, DY, G, M, I, DX, DG, DB);
                       expect_close(down(DX).v, want.dx.v, 5e-5, 1e-4, "batchnorm_backward dx");
                       expect_close(down(DG).v, want.dgamma.v, 1e-4, 1e-5, "batchnorm_backward dgamma");
                       expect_close(down(DB).v, want.dbeta.v, 1e-4, 1e-5, "batchnorm_backward dbeta");
                       ops::fill(st, DG, 7.0f);
                       ops::batchnorm_backward(st, X, DY, G, M, I, DY, DG, DB);  // dx in place of dy
                       expect_close(down(DY).v, want.dx.v, 5e-5, 1e-4, "batchnorm_backward dx in place");
                       expect_close(down(DG).v, want.dgamma.v, 1e-4, 1e-5, "batchnorm_backward dgamma (in place)");
                     }});
  }
}

// Dropout: the mask is the key's, so every device must match the reference exactly (and so one
// another); keys with an offset that is not a multiple of 4 start mid-block.
void add_dropout_cases(std::vector<OpCase>& cases) {
  struct D {
    Shape s;
    float p;
    numeric::RandomKey key;
  };
  for (const D& c :
       {D{{1}, 0.5f, {1, 0, 0, 0}}, D{{3, 5, 7}, 0.25f, {7, 3, 1, 3}}, D{{1000}, 0.0f, {9, 0, 0, 0}},
        D{{1000}, 1.0f, {9, 0, 0, 0}}, D{{70001}, 0.3f, {42, 5, 2, 1001}}, D{{64, 32, 14, 14}, 0.5f, {3, 1, 0, 2}}}) {
    const std::string name =
        c.s.str() + "_p" + std::to_string(static_cast<int>(c.p * 100)) + "_offset" + std::to_string(c.key.offset);
    const DropoutParams p{c.p, c.key};
    cases.push_back({"dropout_forward/" + name, &opdesc::dropout_forward, [c, p](const Device& d, Stream& st) {
                       const ref::Host x = ref::random(c.s, 96), want = ref::dropout(x, p);
                       if (x.numel() > 10000) {  // the mask keeps about 1 − p of the elements
                         int64_t kept = 0;
                         for (float v : want.v) kept += v != 0.0f;
                         EXPECT_NEAR(double(kept) / x.numel(), 1.0 - c.p, 0.01) << "dropout mask";
                       }
                       Tensor X = up(d, x), Y = Tensor::empty(d, c.s);
                       ops::dropout_forward(st, X, Y, p);
                       expect_close(down(Y).v, want.v, 0, 0, "dropout_forward");
                       ops::dropout_forward(st, X, X, p);  // in place
                       expect_close(down(X).v, want.v, 0, 0, "dropout_forward in place");
                     }});
    cases.push_back({"dropout_backward/" + name, &opdesc::dropout_backward, [c, p](const Device& d, Stream& st) {
                       const ref::Host dy = ref::random(c.s, 97), want = ref::dropout(dy, p);
                       Tensor DY = up(d, dy), DX = Tensor::empty(d, c.s);
                       ops::dropout_backward(st, DY, DX, p);
                       expect_close(down(DX).v, want.v, 0, 0, "dropout_backward");
                       ops::dropout_backward(st, DY, DY, p);  // in place
                       expect_close(down(DY).v, want.v, 0, 0, "dropout_backward in place");
                     }});
  }
}

// Adam and AdamW against the textbook formulas in double (the reference), early steps (where
// bias correction matters most) and late ones, with and without weight decay, and moments of
// every size (a zero v where eps dominates).
void add_optimizer_cases(std::vector<OpCase>& cases) {
  struct A {
    Shape s;
    float wd;
    bool decoupled;
    int64_t t;
  };
  for (const A& a : {A{{1}, 0.0f, false, 1}, A{{3, 5, 7}, 0.01f, false, 2}, A{{1000}, 0.05f, true, 1},
                     A{{1000}, 0.0f, true, 7}, A{{70001}, 0.1f, true, 1000}, A{{64, 32, 3, 3}, 0.02f, false, 30}}) {
    const std::string name = "adam_update/" + a.s.str() + (a.decoupled ? "_adamw" : "_adam") + "_wd" +
                             std::to_string(int(a.wd * 100)) + "_t" + std::to_string(a.t);
    cases.push_back({name, &opdesc::adam_update, [a](const Device& d, Stream& st) {
                       const float lr = 3e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
                       const ref::Host g = ref::random(a.s, 111), w0 = ref::random(a.s, 112);
                       ref::Host m = ref::random(a.s, 113, -0.1f, 0.1f), v = ref::random(a.s, 114, 0.0f, 0.01f);
                       if (a.t == 1) std::fill(m.v.begin(), m.v.end(), 0.0f), std::fill(v.v.begin(), v.v.end(), 0.0f);
                       v.v[0] = 0.0f;  // √v = 0: eps alone keeps the step finite
                       Tensor G = up(d, g), W = up(d, w0), M = up(d, m), V = up(d, v);
                       ref::Host w = w0;
                       ref::adam(g, w, m, v, lr, beta1, beta2, eps, a.wd, a.decoupled, a.t);
                       ops::adam_update(st, G, W, M, V, adam_params(lr, beta1, beta2, eps, a.wd, a.decoupled, a.t));
                       expect_close(down(M).v, m.v, 1e-7, 1e-6, "adam_update m");
                       expect_close(down(V).v, v.v, 1e-9, 1e-6, "adam_update v");
                       expect_close(down(W).v, w.v, 1e-6, 1e-6, "adam_update w");
                       EXPECT_EQ(down(G).v, g.v) << "adam_update wrote its gradient";
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
           ops::softmax_xent_backward(st, P, Y, DL, {XentParams::no_ignore, 0.5f});
           expect_close(down(DL).v, ref::softmax_xent_backward(probs, labels(), 0.5f).v, 1e-7, 1e-5,
                        "softmax_xent_backward");
         }});
  }
  // A masked-token loss: rows labeled −100 left out (every third; then all of them: loss and
  // gradient 0). "_ignore" names the variant a device may refuse (expected_support.cpp).
  for (const bool all : {false, true}) {
    const Shape s{12, 7};
    const std::string tag = std::string("12x7_ignore") + (all ? "_all" : "");
    auto labels = [all] {
      std::vector<int32_t> l(12);
      for (size_t i = 0; i < l.size(); ++i) l[i] = all || i % 3 == 1 ? -100 : static_cast<int32_t>((i * 5 + 2) % 7);
      return l;
    };
    cases.push_back({"softmax_xent_forward/" + tag, &opdesc::softmax_xent_forward, [=](const Device& d, Stream& st) {
                       const ref::Host logits = ref::random(s, 43, -5.0f, 5.0f);
                       float want_loss = 0;
                       const ref::Host want = ref::softmax_xent_forward(logits, labels(), want_loss, -100);
                       Tensor L = up(d, logits), Y = up_i32(d, {12}, labels()), P = Tensor::empty(d, s),
                              loss = Tensor::empty(d, {1});
                       ops::softmax_xent_forward(st, L, Y, P, loss, {-100});
                       expect_close(down(P).v, want.v, 1e-6, 1e-5, "softmax_xent_forward probs, ignore index");
                       expect_close(down(loss).v, {want_loss}, 1e-5, 1e-5, "softmax_xent_forward loss, ignore index");
                       // −100 is a label like any other without the ignore index: refused, by name.
                       expect_error([&] { ops::softmax_xent_forward(st, L, Y, P, loss); }, ErrorKind::invalid_argument,
                                    {"labels[", "= -100 is outside [0, 7)"});
                     }});
    cases.push_back({"softmax_xent_backward/" + tag, &opdesc::softmax_xent_backward, [=](const Device& d, Stream& st) {
                       float unused = 0;
                       const ref::Host probs = ref::softmax_xent_forward(ref::random(s, 44, -3, 3), labels(), unused, -100);
                       Tensor P = up(d, probs), Y = up_i32(d, {12}, labels()), DL = up(d, ref::random(s, 45));
                       ops::softmax_xent_backward(st, P, Y, DL, {-100, 2.0f});
                       expect_close(down(DL).v, ref::softmax_xent_backward(probs, labels(), 2.0f, -100).v, 1e-7, 1e-5,
                                    "softmax_xent_backward, ignore index");
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
    add_avgpool_cases(c);
    add_global_avgpool_cases(c);
    add_batchnorm_cases(c);
    add_dropout_cases(c);
    add_optimizer_cases(c);
    add_loss_cases(c);
    add_elementwise_cases(c);
    add_codec_primitive_cases(c);
    add_transformer_cases(c);
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
  for (const OpDesc* op : {&opdesc::axpy, &opdesc::scale, &opdesc::bias_add, &opdesc::bias_relu, &opdesc::scatter_add,
                           &opdesc::orthonormalize, &opdesc::gemm})
    EXPECT_EQ(op->output_access[0], Access::read_write) << op->name;
  // Batch normalization updates its running statistics, and writes everything else.
  EXPECT_EQ(opdesc::batchnorm_forward_train.output_access,
            (std::vector<Access>{Access::write, Access::write, Access::write, Access::read_write, Access::read_write}));
  EXPECT_TRUE(opdesc::batchnorm_forward_infer.may_alias(0, 0));
  EXPECT_TRUE(opdesc::batchnorm_backward.may_alias(0, 1));  // dx / dy
  EXPECT_TRUE(opdesc::dropout_forward.may_alias(0, 0) && opdesc::dropout_backward.may_alias(0, 0));
  EXPECT_TRUE(opdesc::add.may_alias(0, 0) && opdesc::add.may_alias(0, 1));
  EXPECT_TRUE(opdesc::add_relu.may_alias(0, 0) && opdesc::add_relu.may_alias(0, 1));
  EXPECT_FALSE(opdesc::axpy.may_alias(0, 0));
}

// The new layer ops' parameter and shape checks, with the messages every backend gives (the
// descriptors check before any kernel runs).
TEST(BackendOpsValidation, LayerOpsRefuseBadCalls) {
  const Device cpu = find_device("cpu:0");
  Stream s(cpu);
  const auto inv = ErrorKind::invalid_argument;
  // Batch normalization: one value per channel has no unbiased variance; the per-channel tensors
  // are [C]; training's y is not declared in place of x.
  Tensor x1 = Tensor::zeros(cpu, {1, 3}), c3 = Tensor::zeros(cpu, {3}), c4 = Tensor::zeros(cpu, {4}),
         m = Tensor::zeros(cpu, {3}), i = Tensor::zeros(cpu, {3}), rm = Tensor::zeros(cpu, {3}),
         rv = Tensor::zeros(cpu, {3}), y1 = Tensor::zeros(cpu, {1, 3});
  expect_error([&] { ops::batchnorm_forward_train(s, x1, c3, c3, y1, m, i, rm, rv, {}); }, inv,
               {"batchnorm_forward_train", "x f32[1,3]", "more than one value per channel"});
  Tensor x = Tensor::zeros(cpu, {2, 3, 2, 2}), y = Tensor::zeros(cpu, {2, 3, 2, 2});
  expect_error([&] { ops::batchnorm_forward_train(s, x, c4, c3, y, m, i, rm, rv, {}); }, inv,
               {"gamma f32[4]", "length is 4, expected 3"});
  expect_error(
      [&] {
        ops::batchnorm_forward_train(s, x, c3, c3, y, m, i, rm, rv, {1e-5f, 1.5f});
      },
      inv, {"momentum must be in [0, 1]"});
  expect_error([&] { ops::batchnorm_forward_train(s, x, c3, c3, x, m, i, rm, rv, {}); }, inv,
               {"y f32[2,3,2,2] overlaps x f32[2,3,2,2]: this op cannot run in place"});
  expect_error(
      [&] {
        ops::batchnorm_forward_infer(s, x, c3, c3, rm, rv, y, {-1.0f, 0.1f});
      },
      inv, {"eps must be finite and ≥ 0"});
  // Convolution: channels and filters must split into the groups, w's dimension 1 is C/groups,
  // the dilated kernel must fit.
  Tensor cx = Tensor::zeros(cpu, {1, 6, 5, 5}), cy = Tensor::zeros(cpu, {1, 4, 5, 5});
  Tensor w4 = Tensor::zeros(cpu, {4, 3, 3, 3}), w_bad = Tensor::zeros(cpu, {4, 2, 3, 3});
  expect_error(
      [&] {
        ops::conv2d_forward(s, cx, w4, cy, {1, 1, 1, 1, 1, 1, 4});
      },
      inv, {"conv2d_forward", "6 input channels do not split into 4 groups"});
  expect_error(
      [&] {
        ops::conv2d_forward(s, cx, w_bad, cy, {1, 1, 1, 1, 1, 1, 2});
      },
      inv, {"w f32[4,2,3,3]: input channels per group is 2, expected 3"});
  expect_error([&] { ops::conv2d_forward(s, cx, w4, cy, {1, 1, 1, 1, 0, 1, 1}); }, inv, {"dilation must be ≥ 1"});
  expect_error(
      [&] {
        ops::conv2d_forward(s, cx, Tensor::zeros(cpu, {4, 6, 3, 3}), cy, {1, 1, 0, 0, 3, 3, 1});
      },
      inv, {"kernel larger than the padded input", "(dilated to 7x7)"});
  expect_error(
      [&] {
        ops::conv2d_forward(s, cx, Tensor::zeros(cpu, {4, 6, 3, 3}), cy, {1, 1, 1, 1, 2, 1, 1});
      },
      inv, {"output height is 5, expected 3"});
  // Pooling and dropout.
  Tensor px = Tensor::zeros(cpu, {1, 2, 3, 3});
  expect_error(
      [&] {
        ops::avgpool2d_forward(s, px, Tensor::zeros(cpu, {1, 2, 1, 1}), {4, 1});
      },
      inv, {"avgpool2d_forward", "smaller than the 4x4 window"});
  expect_error(
      [&] {
        ops::global_avgpool_forward(s, px, Tensor::zeros(cpu, {1, 3}));
      },
      inv, {"global_avgpool_forward", "channels is 3, expected 2"});
  expect_error([&] { ops::dropout_forward(s, px, px, {1.5f, {}}); }, inv, {"dropout_forward", "p must be in [0, 1]"});
  // Adam: g, w, m, v of one shape, all f32, none the same view; its scalars from adam_params.
  Tensor g = Tensor::zeros(cpu, {4}), aw = Tensor::zeros(cpu, {4}), am = Tensor::zeros(cpu, {4}),
         av = Tensor::zeros(cpu, {5});
  const AdamParams ap = adam_params(1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, false, 1);
  expect_error([&] { ops::adam_update(s, g, aw, am, av, ap); }, inv,
               {"adam_update", "g f32[4] and v f32[5]: shapes differ"});
  expect_error([&] { ops::adam_update(s, g, aw, am, am, ap); }, inv, {"adam_update", "overlaps"});
  expect_error([&] { ops::adam_update(s, g, aw, am, Tensor::zeros(cpu, {4}, DType::f16), ap); }, inv,
               {"adam_update", "expected dtype f32"});
  expect_error([&] { adam_params(1e-3f, 1.0f, 0.999f, 1e-8f, 0.0f, false, 1); }, inv, {"beta1 must be in [0, 1)"});
  expect_error([&] { adam_params(1e-3f, 0.9f, 0.999f, 0.0f, 0.0f, false, 1); }, inv, {"eps must be"});
  expect_error([&] { adam_params(1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, false, 0); }, inv, {"step count starts at 1"});
  // Bias correction as PyTorch derives it, in double from the f32 settings: t = 1 gives
  // step_size = lr/(1 − β1) and bias2_sqrt = √(1 − β2); t = 3, lr/(1 − β1³) and √(1 − β2³).
  EXPECT_EQ(ap.step_size, static_cast<float>(double(1e-3f) / (1.0 - double(0.9f))));
  EXPECT_EQ(ap.bias2_sqrt, static_cast<float>(std::sqrt(1.0 - double(0.999f))));
  const AdamParams w3 = adam_params(0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, true, 3);
  EXPECT_EQ(w3.step_size, static_cast<float>(double(0.1f) / (1.0 - std::pow(double(0.9f), 3))));
  EXPECT_EQ(w3.bias2_sqrt, static_cast<float>(std::sqrt(1.0 - std::pow(double(0.999f), 3))));
  EXPECT_EQ(w3.decay, static_cast<float>(1.0 - double(0.1f) * double(0.01f)));
  EXPECT_EQ(w3.l2, 0.0f);
  EXPECT_EQ(adam_params(0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, false, 3).l2, 0.01f);
  EXPECT_EQ(adam_params(0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, false, 3).decay, 1.0f);
}

}  // namespace
}  // namespace tandem::test
