#include "layers.h"

#include <cmath>

namespace tandem::nn {

void Layer::build(const Shape& in, bool grads) {
  for (const ParamSpec& p : layer_params(spec_, in))
    params_.push_back({p.name, Tensor::zeros(device_, p.shape), grads ? Tensor::zeros(device_, p.shape) : Tensor(),
                       Tensor(), p.prunable});
}

namespace {

// He-uniform: U(−b, b) with b = √(6 / fan_in), suited to ReLU networks.
void he_uniform(Param& w, int64_t fan_in, std::mt19937_64& rng) {
  const float bound = std::sqrt(6.0f / static_cast<float>(fan_in));
  std::uniform_real_distribution<float> u(-bound, bound);
  std::vector<float> v(static_cast<size_t>(w.value.numel()));
  for (float& x : v) x = u(rng);
  w.value.copy_from_host(v.data());
}

// [N, features] view of an activation of any rank.
Tensor flat(const Tensor& t) { return t.reshape({t.shape()[0], t.numel() / t.shape()[0]}); }

class Linear final : public Layer {
 public:
  using Layer::Layer;
  void build(const Shape& in, bool grads) override {
    in_features_ = in.numel();
    Layer::build(in, grads);
  }
  void init(std::mt19937_64& rng) override { he_uniform(params_[0], in_features_, rng); }
  void forward(Stream& s, const Tensor& x, const Tensor& y) override {
    ops::gemm(s, flat(x), params_[0].value, y, {.trans_b = true});  // y = x·Wᵀ
    ops::bias_add(s, y, params_[1].value);
  }
  void backward(Stream& s, const Tensor& x, const Tensor& dy, const Tensor* dx) override {
    ops::gemm(s, dy, flat(x), params_[0].grad, {.trans_a = true});  // dW = dyᵀ·x
    ops::bias_backward(s, dy, params_[1].grad);
    if (dx) ops::gemm(s, dy, params_[0].value, flat(*dx));  // dx = dy·W
  }

 private:
  int64_t in_features_ = 0;
};

class Conv2d final : public Layer {
 public:
  using Layer::Layer;
  void build(const Shape& in, bool grads) override {
    fan_in_ = in[0] * spec_.kernel * spec_.kernel;
    Layer::build(in, grads);
  }
  void init(std::mt19937_64& rng) override { he_uniform(params_[0], fan_in_, rng); }
  void forward(Stream& s, const Tensor& x, const Tensor& y) override {
    ops::conv2d_forward(s, x, params_[0].value, y, conv());
    ops::bias_add(s, y, params_[1].value);
  }
  void backward(Stream& s, const Tensor& x, const Tensor& dy, const Tensor* dx) override {
    ops::conv2d_backward_weights(s, x, dy, params_[0].grad, conv());
    ops::bias_backward(s, dy, params_[1].grad);
    if (dx) ops::conv2d_backward_data(s, dy, params_[0].value, *dx, conv());
  }

 private:
  Conv2dParams conv() const { return {spec_.stride, spec_.stride, spec_.pad, spec_.pad}; }
  int64_t fan_in_ = 0;
};

class Relu final : public Layer {
 public:
  using Layer::Layer;
  void forward(Stream& s, const Tensor& x, const Tensor& y) override { ops::relu_forward(s, x, y); }
  void backward(Stream& s, const Tensor& x, const Tensor& dy, const Tensor* dx) override {
    if (dx) ops::relu_backward(s, x, dy, *dx);
  }
};

class MaxPool2d final : public Layer {
 public:
  using Layer::Layer;
  void resize(const Shape& out) override { indices_ = Tensor::empty(device_, out, DType::i32); }
  void release() override { indices_ = Tensor(); }
  void forward(Stream& s, const Tensor& x, const Tensor& y) override {
    ops::maxpool2d_forward(s, x, y, indices_, {spec_.kernel, spec_.stride});
  }
  void backward(Stream& s, const Tensor&, const Tensor& dy, const Tensor* dx) override {
    if (dx) ops::maxpool2d_backward(s, dy, indices_, *dx);
  }

 private:
  Tensor indices_;
};

}  // namespace

std::unique_ptr<Layer> make_layer(const LayerSpec& spec, const Device& device) {
  switch (spec.type) {
    case LayerType::linear:
      return std::make_unique<Linear>(spec, device);
    case LayerType::conv2d:
      return std::make_unique<Conv2d>(spec, device);
    case LayerType::relu:
      return std::make_unique<Relu>(spec, device);
    case LayerType::maxpool2d:
      return std::make_unique<MaxPool2d>(spec, device);
  }
  return nullptr;
}

}  // namespace tandem::nn
