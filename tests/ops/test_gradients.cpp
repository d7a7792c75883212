// Every backward op against central finite differences of its forward op, on every device.
// The scalar checked is L = Σ r ⊙ f(x) for a fixed random r (so dL/dy = r), computed in double
// on the host from the device's forward outputs.
#include <cmath>
#include <functional>
#include <string>

#include "harness.h"

namespace tandem::test {
namespace {

class Gradients : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { device = find_device(GetParam()); }
  Device device;
};

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

// Central differences of loss() with respect to every element of x (perturbed in place on the
// host and re-uploaded into t), compared with the analytic gradient.
void check_fd(ref::Host& x, const Tensor& t, const std::function<double()>& loss, const std::vector<float>& analytic,
              float eps, double tol, const std::string& what) {
  ASSERT_EQ(analytic.size(), x.v.size());
  size_t bad = 0;
  std::string first;
  for (size_t i = 0; i < x.v.size(); ++i) {
    const float keep = x.v[i];
    x.v[i] = keep + eps;
    t.copy_from_host(x.v.data());
    const double plus = loss();
    x.v[i] = keep - eps;
    t.copy_from_host(x.v.data());
    const double minus = loss();
    x.v[i] = keep;
    const double fd = (plus - minus) / (2.0 * static_cast<double>(eps));
    if (std::fabs(fd - analytic[i]) > tol * std::max(1.0, std::fabs(fd)) && bad++ == 0)
      first = "element " + std::to_string(i) + ": finite difference " + std::to_string(fd) + ", backward " +
              std::to_string(analytic[i]);
  }
  t.copy_from_host(x.v.data());
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << x.v.size() << " gradients differ; " << first;
}

TEST_P(Gradients, GemmAsLinearLayer) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::gemm);
  Stream s(device);
  ref::Host a = ref::random({5, 7}, 1), b = ref::random({7, 4}, 2);
  const ref::Host r = ref::random({5, 4}, 3);
  Tensor A = up(device, a), B = up(device, b), C = Tensor::empty(device, {5, 4}), R = up(device, r);
  auto loss = [&] {
    ops::gemm(s, A, B, C);
    return dot(C.to_f32(), r.v);
  };
  // dA = R·Bᵀ, dB = Aᵀ·R: the linear layer's backward-data and backward-weights.
  Tensor dA = Tensor::empty(device, {5, 7}), dB = Tensor::empty(device, {7, 4});
  ops::gemm(s, R, B, dA, {false, true});
  ops::gemm(s, A, R, dB, {true, false});
  check_fd(a, A, loss, dA.to_f32(), 1e-2f, 2e-3, "gemm dA");
  check_fd(b, B, loss, dB.to_f32(), 1e-2f, 2e-3, "gemm dB");
}

TEST_P(Gradients, Conv2d) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::conv2d_forward);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::conv2d_backward_data);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::conv2d_backward_weights);
  Stream s(device);
  for (const Conv2dParams p : {Conv2dParams{1, 1, 1, 1}, Conv2dParams{2, 1, 0, 2}}) {
    const Shape xs{2, 3, 6, 5}, ws{4, 3, 3, 3};
    const Shape ys{2, 4, window_out(6, 3, p.stride_h, p.pad_h), window_out(5, 3, p.stride_w, p.pad_w)};
    ref::Host x = ref::random(xs, 4), w = ref::random(ws, 5);
    const ref::Host r = ref::random(ys, 6);
    Tensor X = up(device, x), W = up(device, w), Y = Tensor::empty(device, ys), R = up(device, r);
    auto loss = [&] {
      ops::conv2d_forward(s, X, W, Y, p);
      return dot(Y.to_f32(), r.v);
    };
    Tensor dX = Tensor::empty(device, xs), dW = Tensor::empty(device, ws);
    ops::conv2d_backward_data(s, R, W, dX, p);
    ops::conv2d_backward_weights(s, X, R, dW, p);
    check_fd(x, X, loss, dX.to_f32(), 1e-2f, 2e-3, "conv2d dx, stride " + std::to_string(p.stride_h));
    check_fd(w, W, loss, dW.to_f32(), 1e-2f, 2e-3, "conv2d dw, stride " + std::to_string(p.stride_h));
  }
}

// Grouped, depthwise and dilated convolutions. A device that refuses these variants
// (expected_support.cpp) must say so, and is then skipped.
TEST_P(Gradients, Conv2dGroupsAndDilation) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::conv2d_forward);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::conv2d_backward_data);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::conv2d_backward_weights);
  Stream s(device);
  struct G {
    Shape x, w;
    Conv2dParams p;
    std::string name;
  };
  for (const G& g : {G{{2, 4, 6, 5}, {6, 2, 3, 3}, {1, 1, 1, 1, 1, 1, 2}, "_groups2"},
                     G{{2, 3, 6, 5}, {3, 1, 3, 3}, {2, 1, 1, 1, 1, 1, 3}, "_groups3 (depthwise), stride 2"},
                     G{{1, 2, 7, 7}, {4, 1, 3, 2}, {1, 2, 2, 1, 2, 2, 2}, "_groups2 (depthwise x2)_dilation22"},
                     G{{2, 3, 7, 6}, {2, 3, 3, 3}, {1, 1, 2, 1, 2, 1, 1}, "_dilation21"}}) {
    const Shape ys{g.x[0], g.w[0], window_out(g.x[2], g.w[2], g.p.stride_h, g.p.pad_h, g.p.dilation_h),
                   window_out(g.x[3], g.w[3], g.p.stride_w, g.p.pad_w, g.p.dilation_w)};
    ref::Host x = ref::random(g.x, 21), w = ref::random(g.w, 22);
    const ref::Host r = ref::random(ys, 23);
    Tensor X = up(device, x), W = up(device, w), Y = Tensor::empty(device, ys), R = up(device, r);
    if (const auto why = expected_refusal(device, opdesc::conv2d_forward, "conv2d_forward/" + g.name)) {
      expect_error([&] { ops::conv2d_forward(s, X, W, Y, g.p); }, ErrorKind::unsupported, {"conv2d_forward"});
      GTEST_SKIP() << "NOT_SUPPORTED (expected: " << *why << ")";
    }
    auto loss = [&] {
      ops::conv2d_forward(s, X, W, Y, g.p);
      return dot(Y.to_f32(), r.v);
    };
    Tensor dX = Tensor::empty(device, g.x), dW = Tensor::empty(device, g.w);
    ops::conv2d_backward_data(s, R, W, dX, g.p);
    ops::conv2d_backward_weights(s, X, R, dW, g.p);
    check_fd(x, X, loss, dX.to_f32(), 1e-2f, 2e-3, "conv2d dx" + g.name);
    check_fd(w, W, loss, dW.to_f32(), 1e-2f, 2e-3, "conv2d dw" + g.name);
  }
}

TEST_P(Gradients, BiasAdd) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::bias_add);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::bias_backward);
  Stream s(device);
  const ref::Host y0 = ref::random({3, 4, 2, 5}, 7), r = ref::random({3, 4, 2, 5}, 8);
  ref::Host b = ref::random({4}, 9);
  Tensor B = up(device, b), Y = Tensor::empty(device, y0.shape), R = up(device, r), dB = Tensor::empty(device, {4});
  auto loss = [&] {
    Y.copy_from_host(y0.v.data());
    ops::bias_add(s, Y, B);
    return dot(Y.to_f32(), r.v);
  };
  ops::bias_backward(s, R, dB);
  check_fd(b, B, loss, dB.to_f32(), 1e-2f, 1e-3, "bias");
}

TEST_P(Gradients, Relu) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::relu_forward);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::relu_backward);
  Stream s(device);
  ref::Host x = ref::spaced({4, 30}, 10, 0.05f);  // every |x| ≥ 0.025 > eps: no kink inside ±eps
  const ref::Host r = ref::random({4, 30}, 11);
  Tensor X = up(device, x), Y = Tensor::empty(device, x.shape), R = up(device, r), dX = Tensor::empty(device, x.shape);
  auto loss = [&] {
    ops::relu_forward(s, X, Y);
    return dot(Y.to_f32(), r.v);
  };
  ops::relu_backward(s, X, R, dX);
  check_fd(x, X, loss, dX.to_f32(), 1e-2f, 1e-3, "relu");
}

TEST_P(Gradients, MaxPool) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::maxpool2d_forward);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::maxpool2d_backward);
  Stream s(device);
  for (const Pool2dParams p : {Pool2dParams{2, 2}, Pool2dParams{3, 2}}) {
    ref::Host x = ref::spaced({2, 2, 7, 7}, 12, 0.05f);  // no two inputs within 2·eps: the argmax is stable
    const Shape ys{2, 2, window_out(7, p.kernel, p.stride, 0), window_out(7, p.kernel, p.stride, 0)};
    const ref::Host r = ref::random(ys, 13);
    Tensor X = up(device, x), Y = Tensor::empty(device, ys), I = Tensor::empty(device, ys, DType::i32);
    auto loss = [&] {
      ops::maxpool2d_forward(s, X, Y, I, p);
      return dot(Y.to_f32(), r.v);
    };
    loss();
    Tensor R = up(device, r), dX = Tensor::empty(device, x.shape);
    ops::maxpool2d_backward(s, R, I, dX);
    check_fd(x, X, loss, dX.to_f32(), 1e-2f, 1e-3, "maxpool kernel " + std::to_string(p.kernel));
  }
}

TEST_P(Gradients, AvgPool) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::avgpool2d_forward);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::avgpool2d_backward);
  Stream s(device);
  for (const Pool2dParams p : {Pool2dParams{2, 2}, Pool2dParams{3, 2}, Pool2dParams{2, 3}}) {
    ref::Host x = ref::random({2, 2, 7, 8}, 24);
    const Shape ys{2, 2, window_out(7, p.kernel, p.stride, 0), window_out(8, p.kernel, p.stride, 0)};
    const ref::Host r = ref::random(ys, 25);
    Tensor X = up(device, x), Y = Tensor::empty(device, ys), R = up(device, r), dX = Tensor::empty(device, x.shape);
    auto loss = [&] {
      ops::avgpool2d_forward(s, X, Y, p);
      return dot(Y.to_f32(), r.v);
    };
    ops::avgpool2d_backward(s, R, dX, p);
    check_fd(x, X, loss, dX.to_f32(), 1e-2f, 1e-3,
             "avgpool kernel " + std::to_string(p.kernel) + " stride " + std::to_string(p.stride));
  }
}

TEST_P(Gradients, GlobalAvgPool) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::global_avgpool_forward);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::global_avgpool_backward);
  Stream s(device);
  ref::Host x = ref::random({2, 3, 4, 5}, 19);
  const ref::Host r = ref::random({2, 3}, 20);
  Tensor X = up(device, x), Y = Tensor::empty(device, {2, 3}), R = up(device, r), dX = Tensor::empty(device, x.shape);
  auto loss = [&] {
    ops::global_avgpool_forward(s, X, Y);
    return dot(Y.to_f32(), r.v);
  };
  ops::global_avgpool_backward(s, R, dX);
  check_fd(x, X, loss, dX.to_f32(), 1e-2f, 1e-3, "global average pooling");
}

// The training forward pass as a function of x, gamma and beta (its statistics move with x).
TEST_P(Gradients, BatchNorm) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::batchnorm_forward_train);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::batchnorm_backward);
  Stream s(device);
  for (const Shape& xs : {Shape{4, 3, 2, 3}, Shape{6, 2}}) {
    const int64_t c = xs[1];
    ref::Host x = ref::random(xs, 15), gamma = ref::random({c}, 16, 0.5f, 2.0f), beta = ref::random({c}, 17);
    const ref::Host r = ref::random(xs, 18);
    Tensor X = up(device, x), G = up(device, gamma), B = up(device, beta), Y = Tensor::empty(device, xs),
           M = Tensor::empty(device, {c}), I = Tensor::empty(device, {c}), RM = Tensor::zeros(device, {c}),
           RV = Tensor::zeros(device, {c}), R = up(device, r);
    const BatchNormParams p{1e-3f, 0.1f};
    auto loss = [&] {
      ops::batchnorm_forward_train(s, X, G, B, Y, M, I, RM, RV, p);
      return dot(Y.to_f32(), r.v);
    };
    loss();
    Tensor dX = Tensor::empty(device, xs), dG = Tensor::empty(device, {c}), dB = Tensor::empty(device, {c});
    ops::batchnorm_backward(s, X, R, G, M, I, dX, dG, dB);
    check_fd(x, X, loss, dX.to_f32(), 1e-2f, 2e-3, "batchnorm dx " + xs.str());
    check_fd(gamma, G, loss, dG.to_f32(), 1e-2f, 1e-3, "batchnorm dgamma " + xs.str());
    check_fd(beta, B, loss, dB.to_f32(), 1e-2f, 1e-3, "batchnorm dbeta " + xs.str());
  }
}

// For a fixed key dropout is linear in x: the backward pass regenerates the forward's mask.
TEST_P(Gradients, Dropout) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::dropout_forward);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::dropout_backward);
  Stream s(device);
  const DropoutParams p{0.4f, {11, 2, 0, 5}};
  ref::Host x = ref::random({4, 30}, 26);
  const ref::Host r = ref::random({4, 30}, 27);
  Tensor X = up(device, x), Y = Tensor::empty(device, x.shape), R = up(device, r), dX = Tensor::empty(device, x.shape);
  auto loss = [&] {
    ops::dropout_forward(s, X, Y, p);
    return dot(Y.to_f32(), r.v);
  };
  ops::dropout_backward(s, R, dX, p);
  check_fd(x, X, loss, dX.to_f32(), 1e-2f, 1e-3, "dropout");
}

TEST_P(Gradients, SoftmaxCrossEntropy) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::softmax_xent_forward);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::softmax_xent_backward);
  Stream s(device);
  ref::Host logits = ref::random({6, 5}, 14, -2, 2);
  const std::vector<int32_t> labels{0, 4, 2, 2, 1, 3};
  Tensor L = up(device, logits), Y = up_i32(device, {6}, labels), P = Tensor::empty(device, {6, 5}),
         loss_t = Tensor::empty(device, {1}), dL = Tensor::empty(device, {6, 5});
  auto loss = [&] {
    ops::softmax_xent_forward(s, L, Y, P, loss_t);
    return double(loss_t.to_f32()[0]);
  };
  loss();
  ops::softmax_xent_backward(s, P, Y, dL);
  check_fd(logits, L, loss, dL.to_f32(), 1e-2f, 2e-3, "softmax cross-entropy");
}

// The transformer ops (issue 25).
TEST_P(Gradients, GemmBatched) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::gemm_batched);
  Stream s(device);
  for (int t = 0; t < 4; ++t) {
    const bool ta = (t & 1) != 0, tb = (t & 2) != 0;
    ref::Host a = ref::random(ta ? Shape{3, 4, 5} : Shape{3, 5, 4}, 40), b = ref::random(tb ? Shape{3, 6, 4} : Shape{3, 4, 6}, 41);
    const ref::Host r = ref::random({3, 5, 6}, 42);
    Tensor A = up(device, a), B = up(device, b), C = Tensor::empty(device, {3, 5, 6}), R = up(device, r);
    auto loss = [&] {
      ops::gemm_batched(s, A, B, C, {ta, tb});
      return dot(C.to_f32(), r.v);
    };
    // dA = R·Bᵀ (stored transposed when ta: Aᵀ's gradient is B·Rᵀ), dB = Aᵀ·R likewise.
    Tensor dA = Tensor::empty(device, a.shape), dB = Tensor::empty(device, b.shape);
    if (ta) ops::gemm_batched(s, B, R, dA, {tb, true});
    else ops::gemm_batched(s, R, B, dA, {false, !tb});
    if (tb) ops::gemm_batched(s, R, A, dB, {true, ta});
    else ops::gemm_batched(s, A, R, dB, {!ta, false});
    check_fd(a, A, loss, dA.to_f32(), 1e-2f, 2e-3, "gemm_batched da, case " + std::to_string(t));
    check_fd(b, B, loss, dB.to_f32(), 1e-2f, 2e-3, "gemm_batched db, case " + std::to_string(t));
  }
}

TEST_P(Gradients, FusedAttention) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::attention_forward);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::attention_backward);
  Stream s(device);
  ref::Host q = ref::random({2, 3, 4}, 50), k = ref::random({2, 5, 4}, 51), v = ref::random({2, 5, 4}, 52);
  const ref::Host r = ref::random({2, 3, 4}, 53);
  Tensor Q = up(device, q), K = up(device, k), V = up(device, v), O = Tensor::empty(device, q.shape), R = up(device, r);
  auto loss = [&] {
    ops::attention_forward(s, Q, K, V, O, {0.7f});
    return dot(O.to_f32(), r.v);
  };
  loss();
  Tensor dQ = Tensor::empty(device, q.shape), dK = Tensor::empty(device, k.shape), dV = Tensor::empty(device, v.shape);
  ops::attention_backward(s, Q, K, V, O, R, dQ, dK, dV, {0.7f});
  check_fd(q, Q, loss, dQ.to_f32(), 1e-2f, 2e-3, "attention dq");
  check_fd(k, K, loss, dK.to_f32(), 1e-2f, 2e-3, "attention dk");
  check_fd(v, V, loss, dV.to_f32(), 1e-2f, 2e-3, "attention dv");
}

TEST_P(Gradients, Softmax) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::softmax_forward);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::softmax_backward);
  Stream s(device);
  for (const SoftmaxParams p : {SoftmaxParams{-1, 1.0f}, SoftmaxParams{1, 0.5f}, SoftmaxParams{0, 2.0f}}) {
    ref::Host x = ref::random({3, 4, 5}, 43, -2, 2);
    const ref::Host r = ref::random({3, 4, 5}, 44);
    Tensor X = up(device, x), Y = Tensor::empty(device, x.shape), R = up(device, r), dX = Tensor::empty(device, x.shape);
    auto loss = [&] {
      ops::softmax_forward(s, X, Y, p);
      return dot(Y.to_f32(), r.v);
    };
    loss();
    ops::softmax_backward(s, Y, R, dX, p);
    check_fd(x, X, loss, dX.to_f32(), 1e-2f, 2e-3, "softmax, axis " + std::to_string(p.axis));
  }
}

// Masked positions get neither probability nor gradient; the backward is softmax's own.
TEST_P(Gradients, MaskedSoftmax) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::masked_softmax_forward);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::softmax_backward);
  Stream s(device);
  ref::Host x = ref::random({4, 6}, 45, -2, 2);
  const ref::Host r = ref::random({4, 6}, 46);
  const std::vector<uint8_t> keep{1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 0};
  Tensor X = up(device, x), M = Tensor::from_vector(device, {2, 6}, keep), Y = Tensor::empty(device, x.shape),
         R = up(device, r), dX = Tensor::empty(device, x.shape);
  const SoftmaxParams p{-1, 0.7f};
  auto loss = [&] {
    ops::masked_softmax_forward(s, X, M, Y, p);
    return dot(Y.to_f32(), r.v);
  };
  loss();
  ops::softmax_backward(s, Y, R, dX, p);
  check_fd(x, X, loss, dX.to_f32(), 1e-2f, 2e-3, "masked softmax");
}

TEST_P(Gradients, LayerNorm) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::layernorm_forward);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::layernorm_backward);
  Stream s(device);
  ref::Host x = ref::random({2, 3, 8}, 47, -2, 2), g = ref::random({8}, 48, 0.5, 1.5), b = ref::random({8}, 49);
  const ref::Host r = ref::random({2, 3, 8}, 50);
  Tensor X = up(device, x), G = up(device, g), B = up(device, b), Y = Tensor::empty(device, x.shape),
         M = Tensor::empty(device, {6}), RS = Tensor::empty(device, {6}), R = up(device, r);
  auto loss = [&] {
    ops::layernorm_forward(s, X, G, B, Y, M, RS, {1e-5f});
    return dot(Y.to_f32(), r.v);
  };
  loss();
  Tensor dX = Tensor::empty(device, x.shape), dG = Tensor::empty(device, {8}), dB = Tensor::empty(device, {8});
  ops::layernorm_backward(s, X, R, G, M, RS, dX, dG, dB);
  check_fd(x, X, loss, dX.to_f32(), 1e-2f, 3e-3, "layernorm dx");
  check_fd(g, G, loss, dG.to_f32(), 1e-2f, 2e-3, "layernorm dgamma");
  check_fd(b, B, loss, dB.to_f32(), 1e-2f, 2e-3, "layernorm dbeta");
}

TEST_P(Gradients, Activations) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::activation_forward);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::activation_backward);
  Stream s(device);
  for (Activation a : {Activation::gelu, Activation::gelu_tanh, Activation::tanh, Activation::sigmoid}) {
    ref::Host x = ref::random({40}, 51, -4, 4);
    const ref::Host r = ref::random({40}, 52);
    Tensor X = up(device, x), Y = Tensor::empty(device, x.shape), R = up(device, r), dX = Tensor::empty(device, x.shape);
    auto loss = [&] {
      ops::activation_forward(s, X, Y, {a});
      return dot(Y.to_f32(), r.v);
    };
    ops::activation_backward(s, X, R, dX, {a});
    check_fd(x, X, loss, dX.to_f32(), 1e-2f, 2e-3, activation_name(a));
  }
}

// The gradient of a lookup is the scatter-add of dy into a zeroed table (ids repeat).
TEST_P(Gradients, Embedding) {
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::embedding_forward);
  TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc::embedding_backward);
  Stream s(device);
  ref::Host table = ref::random({5, 3}, 53);
  const std::vector<int32_t> ids{4, 0, 4, 2, 2, 2};
  const ref::Host r = ref::random({2, 3, 3}, 54);
  Tensor I = up_i32(device, {2, 3}, ids), T = up(device, table), Y = Tensor::empty(device, {2, 3, 3}),
         R = up(device, r), dT = Tensor::zeros(device, {5, 3});
  auto loss = [&] {
    ops::embedding_forward(s, I, T, Y);
    return dot(Y.to_f32(), r.v);
  };
  ops::embedding_backward(s, I, R, dT);
  check_fd(table, T, loss, dT.to_f32(), 1e-2f, 1e-3, "embedding");
}

INSTANTIATE_TEST_SUITE_P(AllDevices, Gradients, ::testing::ValuesIn(device_ids()),
                         [](const auto& info) { return param_name(info.param); });

}  // namespace
}  // namespace tandem::test
