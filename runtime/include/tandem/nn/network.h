// A model instantiated on devices: its layers, parameters, activations and the training pass
// (forward, softmax cross-entropy, backward). Each layer runs on the device placed for it;
// activations and gradients are copied where consecutive layers sit on different devices.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tandem/clock.h"
#include "tandem/nn/model.h"
#include "tandem/ops.h"

namespace tandem::nn {

/// A trainable tensor with its gradient, on its layer's device. A pruned parameter carries a
/// 0/1 mask (same shape) that is multiplied into the value after every update.
struct Param {
  std::string name;  ///< "conv1.weight", "fc2.bias"
  Tensor value, grad, mask;
  bool prunable = false;  ///< weights of conv2d and linear layers (not biases)
};

class Layer;

/// What a network is built for. Inference needs only the layers' forward ops (so a device with no
/// backward kernels, an FPGA bitstream for serving say, can hold it) and allocates no gradients.
enum class Purpose { training, inference };

class Network {
 public:
  /// Builds the layers of `spec`; placement holds one device per layer, or a single device
  /// for all. A layer whose device lacks one of its ops runs on the CPU instead, with one warning
  /// per process naming the layer, the device and the op. Parameters are allocated but not
  /// initialized (see init).
  Network(const ModelSpec& spec, const std::vector<Device>& placement, Purpose purpose = Purpose::training);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  /// He-uniform weights and zero biases from a seeded generator (host-side, then uploaded),
  /// so a seed gives the same model on any device.
  void init(uint64_t seed);

  /// Runs the forward pass on a batch: `input` is [N, C, H, W] f32 on the first layer's
  /// device. Returns the logits [N, classes] on the last layer's device.
  const Tensor& forward(const Tensor& input);
  /// Softmax cross-entropy of the last forward pass against `labels` (i32 [N] on the last
  /// layer's device), then the backward pass: every Param::grad holds the gradient of the mean
  /// loss. Returns the loss.
  /// on_ready(first, count), when given, is called as soon as the gradients of params()[first,
  /// first + count) are final (layers finish in reverse order): communication can start while
  /// the rest of the backward pass runs. loss_scale multiplies every gradient (not the returned
  /// loss): a worker's weight in a mean over unequal shares of a batch.
  /// Error(unsupported) on a network built for inference.
  float backward(const Tensor& labels, const std::function<void(size_t, size_t)>& on_ready = {},
                 float loss_scale = 1.0f);

  /// Frees everything sized for the current batch (activations, gradients, the kept input) until
  /// the next forward pass: memory-bounded callers free the old batch before allocating a new one.
  void release_batch();

  /// Per-layer timing, for placement: while on, each layer's forward and backward (the last
  /// layer's with the loss) are synchronized and timed — device time from the performance model
  /// on modeled devices, host wall time otherwise — and added to layer_seconds().
  void time_layers(bool on);
  const std::vector<double>& layer_seconds() const { return layer_seconds_; }
  /// While set, the index of the layer whose ops are being dispatched (the loss counts as the last
  /// layer's) is written to *tag: an OpObserver reads it to attribute ops to layers.
  void tag_layers(size_t* tag) { layer_tag_ = tag; }

  const ModelSpec& spec() const { return spec_; }
  Purpose purpose() const { return purpose_; }
  std::vector<Param*> params();
  Device input_device() const;
  Device output_device() const;
  /// The stream of a device used by this network (one per device).
  Stream& stream(const Device& d);

 private:
  // src, written on `from`, into dst on `to`, ordered by the streams where the devices allow.
  void transfer(const Tensor& src, const Tensor& dst, const Device& from, const Device& to);
  void allocate(int64_t batch);

  ModelSpec spec_;
  Purpose purpose_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::map<DeviceImpl*, Stream> streams_;
  int64_t batch_ = 0;
  std::vector<Tensor> acts_;      // acts_[i]: output of layer i, on layer i's device
  std::vector<Tensor> inputs_;    // inputs_[i]: input of layer i on its device (a copy when devices differ)
  std::vector<Tensor> grads_;     // grads_[i]: gradient w.r.t. acts_[i]
  std::vector<Tensor> in_grads_;  // in_grads_[i]: gradient w.r.t. inputs_[i] (i > 0)
  Tensor input_;                  // the last forward pass's input (the first layer's backward reads it)
  Tensor probs_, loss_;
  bool timing_ = false;
  size_t* layer_tag_ = nullptr;
  std::vector<double> layer_seconds_;
  // A layer's timer when timing (its stream drained first), for charge() to add once it is done.
  std::optional<DeviceTimer> mark(size_t layer);
  void charge(size_t layer, const std::optional<DeviceTimer>& since);
};

/// The ops a layer of this type runs on its device, forward and backward (and, for the last
/// layer, the loss; for layers with parameters, the SGD update): what a device must support to
/// hold it.
std::vector<const OpDesc*> layer_ops(LayerType type, bool last, bool has_params, Purpose purpose = Purpose::training);

/// The first of layer i's ops (layer_ops) that the device lacks; nullptr when it can hold the layer.
const OpDesc* missing_op(const ModelSpec& spec, size_t i, const Device& d, Purpose purpose = Purpose::training);

}  // namespace tandem::nn
