// A model instantiated on devices: its parameters and, for the batch size in use, its graph —
// the layers lowered to graph nodes, the loss and the backward pass derived by autodiff, the
// memory planned — run by the graph executor. Each layer's nodes run on the device placed for
// it; values crossing devices go through the graph's transfer nodes.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tandem/clock.h"
#include "tandem/graph/executor.h"
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

/// What a network is built for. Inference needs only the layers' forward ops (so a device with no
/// backward kernels, an FPGA bitstream for serving say, can hold it) and allocates no gradients.
enum class Purpose { training, inference };

class Network {
 public:
  /// Places the layers of `spec`; placement holds one device per layer, or a single device
  /// for all. A layer whose device lacks one of its ops runs on the CPU instead, with one warning
  /// per process naming the layer, the device and the op. Parameters are allocated but not
  /// initialized (see init).
  Network(const ModelSpec& spec, const std::vector<Device>& placement, Purpose purpose = Purpose::training);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  /// He-uniform weights, zero biases, BN's gamma and running variance ones, from a seeded
  /// generator (host-side, then uploaded), so a seed gives the same model on any device.
  void init(uint64_t seed);

  /// Runs the forward pass on a batch: `input` is [N, C, H, W] f32 (a token model: [N, T] i32
  /// ids) on the first layer's device. Returns the logits [N, classes] (or [N, T, classes]) on
  /// the last layer's device.
  const Tensor& forward(const Tensor& input);
  /// The forward pass for evaluation: batch normalization with its running statistics, no
  /// dropout (PyTorch's eval mode). On a network built for inference, forward() itself.
  const Tensor& infer(const Tensor& input);
  /// Runs the fusion passes on the graphs built from now on: graph::fuse_bias_relu_pool,
  /// graph::fuse_relu, graph::fuse_attention, and on inference graphs graph::fold_batchnorm. Off by default: the per-layer accounting of calibration,
  /// planning and compare times each layer's own ops (a ReLU fused into its convolution's bias
  /// has none). The trainer and the C API turn it on.
  void set_fusion(bool on);
  /// Keys the dropout masks of the following passes (with the seed given to init): the step,
  /// and the index of the batch's first sample in the step's global batch, so that a sample's
  /// mask is the same however the step is split over ranks and micro-batches.
  void set_step(uint32_t step, uint64_t first_sample);
  /// Softmax cross-entropy of the last forward pass against `labels` (i32 [N] on the last
  /// layer's device; a model scoring every token: [N·T], the mean over the labels that are not
  /// ignore_label), then the backward pass: every Param::grad holds the gradient of the mean
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

  /// Per-layer timing, for placement: while on, each node (a layer's forward and backward nodes;
  /// the loss counts as the last layer's) is synchronized and timed — device time from the
  /// performance model on modeled devices, host wall time otherwise — and added to its layer's
  /// layer_seconds().
  void time_layers(bool on);
  const std::vector<double>& layer_seconds() const { return layer_seconds_; }
  /// While set, the index of the layer whose ops are being dispatched (the loss counts as the last
  /// layer's) is written to *tag: an OpObserver reads it to attribute ops to layers.
  void tag_layers(size_t* tag) { layer_tag_ = tag; }

  const ModelSpec& spec() const { return spec_; }
  Purpose purpose() const { return purpose_; }
  std::vector<Param*> params();
  /// State that is not trained but kept and saved (BN's running statistics): value only.
  std::vector<Param*> buffers();
  Device input_device() const;
  Device output_device() const;
  /// The stream of a device used by this network (one per device).
  Stream& stream(const Device& d);
  /// The device each layer runs on (after fallbacks).
  const std::vector<Device>& layer_devices() const { return devices_; }

  /// The graph of the current batch (after a forward pass): forward nodes, then the loss and
  /// the backward pass when training.
  const graph::Graph& graph() const;
  /// Its memory plan.
  const graph::MemoryPlan& memory_plan() const;
  /// Builds the graphs of a batch size (what the first pass at that size would), without running them.
  void prepare_batch(int64_t batch);
  /// Bytes on a device that the network holds: parameters, their gradients and masks, and the
  /// planned activations of the passes built (the larger of training and evaluation): what a
  /// training step needs at its peak.
  size_t memory_bytes(const Device& d) const;
  /// The planned activations alone (the larger pass's), on a device.
  size_t activation_bytes(const Device& d) const;

 private:
  // One graph built for a batch size and purpose, ready to run.
  struct Pass {
    std::unique_ptr<graph::Executor> exec;
    int64_t batch = 0;
    graph::ValueId input = graph::no_value, labels = graph::no_value, logits = graph::no_value,
                   loss = graph::no_value;
    size_t forward_end = 0;     // nodes [0, forward_end) are the forward pass
    size_t loss_grad_node = 0;  // softmax_xent_backward: its "dloss" is the loss scale
    std::vector<size_t> grads_final;  // per layer with parameters: the node after which its gradients are final
  };
  Pass& prepare(Pass& pass, int64_t batch, Purpose purpose);
  const Tensor& run_forward(Pass& pass, const Tensor& input, Purpose purpose);
  std::optional<DeviceTimer> mark(const graph::Node& n);
  void charge(const graph::Node& n, const std::optional<DeviceTimer>& since);

  ModelSpec spec_;
  Purpose purpose_;
  std::vector<Device> devices_;  // per layer
  std::vector<Param> params_, buffers_;
  std::vector<size_t> first_param_;  // per layer + 1: its first index in params_
  std::map<DeviceImpl*, Stream> streams_;
  Pass train_, eval_;  // train_: forward, loss and backward (training only); eval_: inference
  Pass* last_ = nullptr;  // the pass of the last forward
  uint64_t seed_ = 0;
  uint32_t step_ = 0;
  uint64_t first_sample_ = 0;
  bool fuse_ = false;
  bool timing_ = false;
  size_t* layer_tag_ = nullptr;
  std::vector<double> layer_seconds_;
  std::optional<DeviceTimer> timer_;
};

/// Host data of one batch that a model accepts, drawn from a seed: uniform [0, 1) pixels (or token
/// ids in [0, vocab)) and labels in range (per token for a model that scores every token). What
/// timing, planning and comparing run on, where the values do not matter but must be valid.
struct ExampleBatch {
  Shape input_shape, labels_shape;
  std::vector<float> pixels;
  std::vector<int32_t> ids, labels;
  Tensor input(const Device& d) const;
  Tensor label_tensor(const Device& d) const;
};
ExampleBatch example_batch(const ModelSpec& spec, int64_t batch, uint64_t seed);

/// The kernels layer i runs on its device: its forward nodes', and when training its backward
/// nodes', the loss's (last layer) and the optimizer's (layers with parameters) — what a device
/// must support to hold it. Derived from the graph.
std::vector<const OpDesc*> layer_kernels(const ModelSpec& spec, size_t i, Purpose purpose = Purpose::training);

/// The first of layer i's kernels (layer_kernels) that the device lacks; nullptr when it can hold the layer.
const OpDesc* missing_op(const ModelSpec& spec, size_t i, const Device& d, Purpose purpose = Purpose::training);

}  // namespace tandem::nn
