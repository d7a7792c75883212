// What a graph op declares: its shape rule, how it runs (the kernels of the op table it
// dispatches), its backward rule (the gradient nodes autodiff adds for it), and which of its
// outputs may take an input's memory. One op per definition, beside its builder function in
// runtime/graph/ops/<family>.cpp, named after the kernel family it runs.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "tandem/graph/graph.h"
#include "tandem/op.h"
#include "tandem/stream.h"

namespace tandem::graph {

/// Shape inference: reads the inputs, sets every output's shape and dtype.
struct InferCtx {
  const Node& node;
  std::vector<const Value*> in;
  std::vector<std::pair<Shape, DType>> out;

  const Shape& shape(size_t i) const { return in.at(i)->shape; }
  /// Throws Error(invalid_argument) naming the node, its op and its input shapes.
  [[noreturn]] void fail(const std::string& what) const;
  void expect_rank(size_t input, int rank) const;
  void expect_dtype(size_t input, DType dtype) const;
};

/// One execution of a node: its tensors, planned and bound, on its device.
struct RunCtx {
  Stream& stream;
  const Node& node;
  std::span<const Tensor> in, out;
  /// The stream of another device the run uses (transfers).
  std::function<Stream&(const Device&)> stream_of;
};

class GradCtx;

struct GraphOp {
  const char* name;
  std::vector<const char*> inputs, outputs;  ///< roles, for messages
  void (*infer)(InferCtx&);
  void (*run)(RunCtx&);
  /// Adds the nodes that compute the inputs' gradients from the outputs'; nullptr: no gradient
  /// flows through this op (an error if autodiff needs one).
  void (*grad)(GradCtx&) = nullptr;
  /// The op-table kernels a device must have to run it.
  std::vector<const OpDesc*> kernels;
  /// (output, input) pairs the memory planner may give one buffer (the kernels allow it).
  std::vector<std::pair<int, int>> in_place = {};
  /// Output 0 is a view of input 0 (same bytes, another shape): no kernel, no memory.
  bool view = false;
};

/// The seed gradient's marker: the output being differentiated is the loss itself (d loss / d loss = 1).
constexpr ValueId seed_gradient = -2;

/// What a backward rule sees: the node, its outputs' gradients, which inputs want one.
class GradCtx {
 public:
  GradCtx(Graph& g, size_t node, std::vector<ValueId> dy, std::vector<bool> wanted)
      : g(g), index(node), dy_(std::move(dy)), wanted_(std::move(wanted)), dx_(wanted_.size(), no_value) {}
  Graph& g;
  size_t index;
  const Node& node() const { return g.node(index); }
  ValueId x(size_t i) const { return node().inputs.at(i); }
  ValueId y(size_t i) const { return node().outputs.at(i); }
  /// The gradient flowing into output i: a value, seed_gradient, or no_value (none flows).
  ValueId dy(size_t i) const { return dy_.at(i); }
  bool wants(size_t input) const { return wanted_.at(input); }
  /// Gives input i's gradient (ignored when not wanted).
  void set(size_t input, ValueId grad) {
    if (wanted_.at(input)) dx_.at(input) = grad;
  }
  /// A name for a gradient node of this one: "conv1.grad.data".
  std::string name(const std::string& what) const { return node().name + ".grad." + what; }
  const std::vector<ValueId>& dx() const { return dx_; }

 private:
  std::vector<ValueId> dy_;
  std::vector<bool> wanted_;
  std::vector<ValueId> dx_;
};

}  // namespace tandem::graph
