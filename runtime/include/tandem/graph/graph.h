// The graph IR: values (shape, dtype, device), nodes (an op, attributes, inputs, outputs),
// parameters, state buffers and named inputs and outputs. A graph is built for one batch size;
// shapes are inferred as nodes are added, so a node whose inputs do not fit is refused when it
// is added, by name. Nodes can only take values that exist, so a graph is acyclic and its nodes
// are in a topological order by construction (the model description, which may name inputs in
// any order, is sorted when it is lowered; see nn/model.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tandem/device.h"
#include "tandem/dtype.h"
#include "tandem/shape.h"
#include "tandem/tensor.h"

namespace tandem::graph {

using ValueId = int32_t;
constexpr ValueId no_value = -1;

enum class ValueKind : uint8_t {
  activation,  ///< produced by a node; its memory is planned
  input,       ///< a named graph input, bound by the caller for each run
  param,       ///< a trainable tensor, bound to storage the caller owns
  state,       ///< a non-trainable tensor that persists across runs (running statistics)
};

struct Value {
  std::string name;
  Shape shape;
  DType dtype = DType::f32;
  ValueKind kind = ValueKind::activation;
  Device device;
  int producer = -1;  ///< the node that writes it (activations), else -1
  /// Storage given by the caller (inputs, params, state, and outputs such as a parameter's
  /// gradient that must land in the caller's tensor): the memory planner leaves it alone.
  Tensor bound;
  size_t nbytes() const { return static_cast<size_t>(shape.numel()) * dtype_size(dtype); }
};

/// Node attributes: named numbers (strides, epsilons, flags), printable and JSON-friendly.
class Attrs {
 public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<const std::string, double>> v) : v_(v) {}
  int64_t i(const std::string& key, int64_t fallback = 0) const;
  float f(const std::string& key, float fallback = 0) const;
  bool has(const std::string& key) const { return v_.count(key) != 0; }
  void set(const std::string& key, double value) { v_[key] = value; }
  /// A shape as attributes ("rank", "d0", "d1", ...), for ops whose output shape is given.
  void set_shape(const Shape& s);
  Shape shape() const;
  std::string str() const;  ///< "kernel=3 stride=1"
  const std::map<std::string, double>& all() const { return v_; }

 private:
  std::map<std::string, double> v_;
};

struct GraphOp;

struct Node {
  const GraphOp* op = nullptr;
  std::string name;  ///< "conv1", "conv1.bias", "conv1.grad.data": what errors and profiles say
  Attrs attrs;
  std::vector<ValueId> inputs, outputs;
  Device device;   ///< where it runs (set by placement; the graph's default device until then)
  int group = -1;  ///< the model node (layer) it was lowered from: placement, timing and pins work on groups
  bool backward = false;  ///< made by autodiff (or the loss): runs in the backward pass
};

class Graph {
 public:
  /// Nodes and values added without a device go to this one.
  explicit Graph(Device device = cpu_device()) : device_(device) {}

  ValueId input(const std::string& name, const Shape& shape, DType dtype = DType::f32);
  ValueId param(const std::string& name, const Shape& shape);
  ValueId state(const std::string& name, const Shape& shape);

  /// Adds a node on the current device, inferring its outputs' shapes; throws
  /// Error(invalid_argument) naming the node (and its op) when the inputs do not fit the op.
  /// An input held on another device is read through a transfer node (one per value and
  /// device, added first). Returns the outputs.
  std::vector<ValueId> add(const GraphOp& op, const std::vector<ValueId>& inputs, const Attrs& attrs,
                           const std::string& name);
  /// add() for a single-output op.
  ValueId add1(const GraphOp& op, const std::vector<ValueId>& inputs, const Attrs& attrs, const std::string& name);

  /// Names a value as a graph output: it lives until the end of a run and is never reused.
  void output(const std::string& name, ValueId v);
  ValueId output(const std::string& name) const;  ///< Error naming it when there is none
  const std::vector<std::pair<std::string, ValueId>>& outputs() const { return outputs_; }
  bool is_output(ValueId v) const;

  /// Nodes added from now on carry this group, device and backward flag.
  void set_group(int group) { group_ = group; }
  void set_device(const Device& d) { device_ = d; }
  void set_backward(bool b) { backward_ = b; }
  int group() const { return group_; }
  Device device() const { return device_; }

  const Value& value(ValueId v) const { return values_.at(static_cast<size_t>(v)); }
  Value& value(ValueId v) { return values_.at(static_cast<size_t>(v)); }
  const Node& node(size_t i) const { return nodes_.at(i); }
  Node& node(size_t i) { return nodes_.at(i); }
  size_t nodes() const { return nodes_.size(); }
  size_t values() const { return values_.size(); }
  /// Consumers of each value: node indices in order (a node taking a value twice is listed twice).
  std::vector<std::vector<int>> consumers() const;
  /// The node producing v when v is an activation a pass may fuse away: unbound, not a graph
  /// output, and read by one node alone (readers: consumers()). nullptr otherwise.
  Node* fusable_producer(const std::vector<std::vector<int>>& readers, ValueId v);
  /// The value named `name`; Error naming it when there is none.
  ValueId find(const std::string& name) const;

  /// Removes nodes none of whose outputs reach a graph output or a bound value (the dead-node
  /// pass). Returns how many were removed.
  size_t remove_dead_nodes();
  /// Reorders the nodes so that each comes after the producers of its inputs, keeping the
  /// present order wherever it already is one (a pass that added a node another one reads
  /// calls it).
  void sort_topologically();
  /// Runs each node's shape inference again and checks every input exists and comes first:
  /// what a pass must keep true. Throws naming the node.
  void validate() const;
  /// One line per node: "conv1: conv2d_forward(x [8,1,28,28], conv1.weight [16,1,3,3]) -> conv1 [8,16,28,28] @cpu:0".
  std::string str() const;

 private:
  ValueId new_value(Value v);
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::vector<std::pair<std::string, ValueId>> outputs_;
  std::map<std::pair<ValueId, std::string>, ValueId> transfers_;  // (value, device id) -> its copy there
  Device device_;
  int group_ = -1;
  bool backward_ = false;
};

}  // namespace tandem::graph
