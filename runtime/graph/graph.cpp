#include "tandem/graph/graph.h"

#include <cmath>
#include <sstream>

#include "tandem/error.h"
#include "tandem/graph/ops.h"

namespace tandem::graph {

int64_t Attrs::i(const std::string& key, int64_t fallback) const {
  const auto it = v_.find(key);
  return it == v_.end() ? fallback : static_cast<int64_t>(std::llround(it->second));
}

float Attrs::f(const std::string& key, float fallback) const {
  const auto it = v_.find(key);
  return it == v_.end() ? fallback : static_cast<float>(it->second);
}

void Attrs::set_shape(const Shape& s) {
  set("rank", s.rank());
  for (int i = 0; i < s.rank(); ++i) set("d" + std::to_string(i), static_cast<double>(s[i]));
}

Shape Attrs::shape() const {
  std::vector<int64_t> d;
  for (int k = 0; k < i("rank"); ++k) d.push_back(i("d" + std::to_string(k)));
  return Shape(std::span<const int64_t>(d));
}

std::string Attrs::str() const {
  std::ostringstream o;
  for (const auto& [k, v] : v_) o << (o.tellp() > 0 ? " " : "") << k << "=" << v;
  return o.str();
}

namespace {

std::string describe_inputs(const Graph& g, const Node& n) {
  std::string s;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const Value& v = g.value(n.inputs[i]);
    s += (i ? ", " : "") + std::string(i < n.op->inputs.size() ? n.op->inputs[i] : "?") + " " + v.name + " " +
         v.shape.str();
  }
  return s;
}

}  // namespace

void InferCtx::fail(const std::string& what) const {
  std::string shapes;
  for (size_t i = 0; i < in.size(); ++i)
    shapes += (i ? ", " : "") + std::string(i < node.op->inputs.size() ? node.op->inputs[i] : "?") + " " +
              in[i]->shape.str() + (in[i]->dtype == DType::f32 ? "" : " " + std::string(dtype_name(in[i]->dtype)));
  throw Error(ErrorKind::invalid_argument, "", "node " + node.name + " (" + node.op->name + ")",
              what + " (inputs " + shapes + ")");
}

void InferCtx::expect_rank(size_t input, int rank) const {
  if (shape(input).rank() != rank)
    fail(std::string(node.op->inputs.at(input)) + " must have rank " + std::to_string(rank));
}

void InferCtx::expect_dtype(size_t input, DType dtype) const {
  if (in.at(input)->dtype != dtype)
    fail(std::string(node.op->inputs.at(input)) + " must be " + std::string(dtype_name(dtype)));
}

ValueId Graph::new_value(Value v) {
  if (v.name.empty()) v.name = "%" + std::to_string(values_.size());
  values_.push_back(std::move(v));
  return static_cast<ValueId>(values_.size() - 1);
}

ValueId Graph::input(const std::string& name, const Shape& shape, DType dtype) {
  return new_value({name, shape, dtype, ValueKind::input, device_, -1, {}});
}
ValueId Graph::param(const std::string& name, const Shape& shape) {
  return new_value({name, shape, DType::f32, ValueKind::param, device_, -1, {}});
}
ValueId Graph::state(const std::string& name, const Shape& shape) {
  return new_value({name, shape, DType::f32, ValueKind::state, device_, -1, {}});
}

std::vector<ValueId> Graph::add(const GraphOp& op, const std::vector<ValueId>& given, const Attrs& attrs,
                                const std::string& name) {
  std::vector<ValueId> inputs = given;
  if (&op != &opdef::transfer)
    for (ValueId& v : inputs) {
      if (v < 0 || static_cast<size_t>(v) >= values_.size() || values_[static_cast<size_t>(v)].device == device_)
        continue;
      const auto key = std::make_pair(v, device_.id());
      if (!transfers_.count(key))
        transfers_[key] = add1(opdef::transfer, {v}, {}, values_[static_cast<size_t>(v)].name + "@" + device_.id());
      v = transfers_[key];
    }
  Node n{&op, name, attrs, inputs, {}, device_, group_, backward_};
  if (inputs.size() != op.inputs.size())
    throw Error(ErrorKind::invalid_argument, "", "node " + name + " (" + op.name + ")",
                "takes " + std::to_string(op.inputs.size()) + " inputs, given " + std::to_string(inputs.size()));
  InferCtx ctx{n, {}, {}};
  for (ValueId v : inputs) {
    if (v < 0 || static_cast<size_t>(v) >= values_.size())
      throw Error(ErrorKind::invalid_argument, "", "node " + name + " (" + op.name + ")",
                  "takes value " + std::to_string(v) + ", which does not exist");
    ctx.in.push_back(&values_[static_cast<size_t>(v)]);
  }
  op.infer(ctx);
  if (ctx.out.size() != op.outputs.size()) ctx.fail("shape rule gave the wrong number of outputs (a bug in the op)");
  const int index = static_cast<int>(nodes_.size());
  for (size_t i = 0; i < ctx.out.size(); ++i) {
    const std::string vname = op.outputs.size() == 1 ? name : name + "." + op.outputs[i];
    n.outputs.push_back(
        new_value({vname, ctx.out[i].first, ctx.out[i].second, ValueKind::activation, device_, index, {}}));
  }
  nodes_.push_back(std::move(n));
  return nodes_.back().outputs;
}

ValueId Graph::add1(const GraphOp& op, const std::vector<ValueId>& inputs, const Attrs& attrs,
                    const std::string& name) {
  return add(op, inputs, attrs, name).at(0);
}

void Graph::output(const std::string& name, ValueId v) {
  for (auto& [n, id] : outputs_)
    if (n == name) {
      id = v;
      return;
    }
  outputs_.emplace_back(name, v);
}

ValueId Graph::output(const std::string& name) const {
  for (const auto& [n, id] : outputs_)
    if (n == name) return id;
  throw Error(ErrorKind::invalid_argument, "", "graph", "has no output named " + name);
}

bool Graph::is_output(ValueId v) const {
  for (const auto& o : outputs_)
    if (o.second == v) return true;
  return false;
}

ValueId Graph::find(const std::string& name) const {
  for (size_t i = 0; i < values_.size(); ++i)
    if (values_[i].name == name) return static_cast<ValueId>(i);
  throw Error(ErrorKind::invalid_argument, "", "graph", "has no value named " + name);
}

std::vector<std::vector<int>> Graph::consumers() const {
  std::vector<std::vector<int>> c(values_.size());
  for (size_t i = 0; i < nodes_.size(); ++i)
    for (ValueId v : nodes_[i].inputs) c[static_cast<size_t>(v)].push_back(static_cast<int>(i));
  return c;
}

Node* Graph::fusable_producer(const std::vector<std::vector<int>>& readers, ValueId v) {
  const Value& val = value(v);
  if (val.producer < 0 || val.bound || is_output(v) || readers.at(static_cast<size_t>(v)).size() != 1) return nullptr;
  return &node(static_cast<size_t>(val.producer));
}

void Graph::sort_topologically() {
  std::vector<size_t> order;
  std::vector<uint8_t> state(nodes_.size(), 0);  // 0 unvisited, 1 on the path, 2 placed
  // Depth first from each node in turn, its producers first (an explicit stack: chains can be
  // long). Graphs are acyclic by construction; a pass that made a cycle is a bug, refused by name.
  std::vector<std::pair<size_t, size_t>> stack;  // (node, inputs looked at)
  for (size_t root = 0; root < nodes_.size(); ++root) {
    if (state[root] == 0) stack.push_back({root, 0}), state[root] = 1;
    while (!stack.empty()) {
      const auto [n, k] = stack.back();
      if (k < nodes_[n].inputs.size()) {
        ++stack.back().second;
        const int p = values_[static_cast<size_t>(nodes_[n].inputs[k])].producer;
        if (p < 0 || state[static_cast<size_t>(p)] == 2) continue;
        if (state[static_cast<size_t>(p)] == 1)
          throw Error(ErrorKind::internal, "", "node " + nodes_[n].name, "is on a cycle after a pass");
        stack.push_back({static_cast<size_t>(p), 0}), state[static_cast<size_t>(p)] = 1;
        continue;
      }
      state[n] = 2;
      order.push_back(n);
      stack.pop_back();
    }
  }
  std::vector<Node> sorted;
  std::vector<int> remap(nodes_.size());
  for (size_t i : order) {
    remap[i] = static_cast<int>(sorted.size());
    sorted.push_back(std::move(nodes_[i]));
  }
  nodes_ = std::move(sorted);
  for (Value& v : values_)
    if (v.producer >= 0) v.producer = remap[static_cast<size_t>(v.producer)];
}

size_t Graph::remove_dead_nodes() {
  // A node lives if one of its outputs is a graph output or bound storage, or feeds a live node;
  // one that updates bound state in place (running statistics) lives for that effect.
  std::vector<bool> live(nodes_.size(), false), needed(values_.size(), false);
  for (const auto& o : outputs_) needed[static_cast<size_t>(o.second)] = true;
  for (size_t i = nodes_.size(); i-- > 0;) {
    const Node& n = nodes_[i];
    for (ValueId v : n.outputs)
      live[i] = live[i] || needed[static_cast<size_t>(v)] || values_[static_cast<size_t>(v)].bound;
    for (ValueId v : n.inputs) live[i] = live[i] || values_[static_cast<size_t>(v)].kind == ValueKind::state;
    if (live[i])
      for (ValueId v : n.inputs) needed[static_cast<size_t>(v)] = true;
  }
  std::vector<int> remap(nodes_.size(), -1);
  std::vector<Node> kept;
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (live[i]) {
      remap[i] = static_cast<int>(kept.size());
      kept.push_back(std::move(nodes_[i]));
    }
  const size_t removed = nodes_.size() - kept.size();
  nodes_ = std::move(kept);
  for (Value& v : values_)
    if (v.producer >= 0) v.producer = remap[static_cast<size_t>(v.producer)];  // -1: its producer is gone
  return removed;
}

void Graph::validate() const {
  std::vector<bool> defined(values_.size(), false);
  for (size_t v = 0; v < values_.size(); ++v) defined[v] = values_[v].kind != ValueKind::activation;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    auto bad = [&](const std::string& what) {
      throw Error(ErrorKind::invalid_argument, "", "node " + n.name + " (" + n.op->name + ")", what);
    };
    InferCtx ctx{n, {}, {}};
    for (ValueId v : n.inputs) {
      if (v < 0 || static_cast<size_t>(v) >= values_.size()) bad("takes a value that does not exist");
      if (!defined[static_cast<size_t>(v)])
        bad("takes " + values_[static_cast<size_t>(v)].name + " before any node computes it");
      ctx.in.push_back(&values_[static_cast<size_t>(v)]);
    }
    n.op->infer(ctx);
    if (ctx.out.size() != n.outputs.size())
      bad("has " + std::to_string(n.outputs.size()) + " outputs, its op gives " + std::to_string(ctx.out.size()));
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      const Value& out = values_[static_cast<size_t>(n.outputs[k])];
      if (!(out.shape == ctx.out[k].first) || out.dtype != ctx.out[k].second)
        bad("output " + out.name + " is " + out.shape.str() + " but its inputs (" + describe_inputs(*this, n) +
            ") give " + ctx.out[k].first.str());
      if (defined[static_cast<size_t>(n.outputs[k])]) bad("writes " + out.name + ", which another node wrote");
      defined[static_cast<size_t>(n.outputs[k])] = true;
    }
  }
  for (const auto& [name, v] : outputs_)
    if (!defined[static_cast<size_t>(v)])
      throw Error(ErrorKind::invalid_argument, "", "graph", "output " + name + " is never computed");
}

std::string Graph::str() const {
  std::ostringstream o;
  for (const Node& n : nodes_) {
    o << n.name << ": " << n.op->name << "(" << describe_inputs(*this, n) << ")";
    if (!n.attrs.all().empty()) o << " {" << n.attrs.str() << "}";
    o << " ->";
    for (ValueId v : n.outputs)
      o << " " << values_[static_cast<size_t>(v)].name << " " << values_[static_cast<size_t>(v)].shape.str();
    o << " @" << n.device.id() << "\n";
  }
  return o.str();
}

}  // namespace tandem::graph
