// The layer implementations behind Network (internal): each runs its ops on one device.
#pragma once

#include <random>

#include "tandem/nn/network.h"

namespace tandem::nn {

class Layer {
 public:
  Layer(LayerSpec spec, Device device) : spec_(std::move(spec)), device_(device) {}
  virtual ~Layer() = default;

  /// Allocates the parameters (layer_params) for a one-sample input shape, with their gradients
  /// when the network trains.
  virtual void build(const Shape& in, bool grads);
  /// Fills parameters from the generator (He-uniform weights, zero biases).
  virtual void init(std::mt19937_64& /*rng*/) {}
  /// Allocates per-batch state (e.g. pooling indices).
  virtual void resize(const Shape& /*out*/) {}
  /// Frees per-batch state.
  virtual void release() {}
  virtual void forward(Stream& s, const Tensor& x, const Tensor& y) = 0;
  /// Writes parameter gradients; writes dx unless it is null (the first layer needs none).
  virtual void backward(Stream& s, const Tensor& x, const Tensor& dy, const Tensor* dx) = 0;

  const LayerSpec& spec() const { return spec_; }
  Device device() const { return device_; }
  std::vector<Param>& params() { return params_; }

 protected:
  LayerSpec spec_;
  Device device_;
  std::vector<Param> params_;
};

std::unique_ptr<Layer> make_layer(const LayerSpec& spec, const Device& device);

}  // namespace tandem::nn
