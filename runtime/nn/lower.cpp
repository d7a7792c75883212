#include "lower.h"

#include <cmath>

#include "tandem/error.h"
#include "tandem/graph/ops.h"

namespace tandem::nn {

using graph::ValueId;

namespace {

// One sample's shape as messages show it: the batch dimension left out.
std::string sample_str(const Shape& s) { return Shape(std::span<const int64_t>(s.begin() + 1, s.end())).str(); }

void need_sequence(const graph::Graph& g, ValueId x, const std::string& name, const char* op) {
  const Shape& s = g.value(x).shape;
  if (s.rank() != 3)
    throw Error(ErrorKind::invalid_argument, "", "node " + name,
                std::string(op) + " takes a sequence [tokens, width], given " + sample_str(s));
}

// y = x·Wᵀ (+ b) on rows x [R, in].
ValueId linear(graph::Graph& g, ValueId x, const std::vector<ValueId>& p, bool bias, const std::string& name) {
  ValueId y = graph::matmul(g, x, p.at(0), false, true, name);
  return bias ? graph::bias_add(g, y, p.at(1), name + ".bias") : y;
}

// f applied to the rows of x [N, ..., D] seen as [N·..., D], the result viewed back as [N, ..., D'].
template <class F>
ValueId per_row(graph::Graph& g, ValueId x, const std::string& name, F f) {
  const Shape s = g.value(x).shape;
  if (s.rank() == 2) return f(x);
  const int64_t d = s[s.rank() - 1];
  const ValueId y = f(graph::reshape(g, x, {s.numel() / d, d}, name + ".rows"));
  std::vector<int64_t> out(s.begin(), s.end());
  out.back() = g.value(y).shape[1];
  return graph::reshape(g, y, Shape(std::span<const int64_t>(out)), name + ".unrows");
}

// Multi-head self-attention on x [N, T, D] as nn.MultiheadAttention computes it: q, k, v from one
// input projection, per head softmax(q·kᵀ/√(D/heads))·v, the heads joined and projected.
ValueId attention(graph::Graph& g, ValueId x, const std::vector<ValueId>& p, int heads, const std::string& name) {
  const Shape s = g.value(x).shape;
  const int64_t n = s[0], t = s[1], d = s[2];
  if (heads < 1 || d % heads != 0)
    throw Error(ErrorKind::invalid_argument, "", "node " + name,
                std::to_string(heads) + " heads do not divide the width " + std::to_string(d));
  const int64_t h = heads, dh = d / heads;
  const ValueId qkv = per_row(g, x, name + ".qkv", [&](ValueId rows) { return linear(g, rows, {p.at(0), p.at(1)}, true, name + ".qkv"); });
  // [N, T, 3, H, dh] -> [3, N, H, T, dh]: q, k and v each a batch of N·H matrices [T, dh].
  const ValueId split = graph::permute(g, graph::reshape(g, qkv, {n, t, 3, h, dh}, name + ".split"), {2, 0, 3, 1, 4},
                                       name + ".heads");
  const ValueId qkv3 = graph::reshape(g, split, {3, n * h, t, dh}, name + ".qkv3");
  auto part = [&](int i, const char* what) {
    return graph::reshape(g, graph::slice(g, qkv3, 0, i, 1, name + "." + what), {n * h, t, dh}, name + "." + what + ".view");
  };
  const ValueId q = part(0, "q"), k = part(1, "k"), v = part(2, "v");
  const ValueId scores = graph::matmul(g, q, k, false, true, name + ".scores");
  const ValueId probs = graph::softmax(g, scores, {-1, static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh)))}, name + ".softmax");
  const ValueId ctx = graph::matmul(g, probs, v, false, false, name + ".context");
  const ValueId joined = graph::permute(g, graph::reshape(g, ctx, {n, h, t, dh}, name + ".context4"), {0, 2, 1, 3}, name + ".join");
  const ValueId rows = graph::reshape(g, joined, {n * t, d}, name + ".out.rows");
  return graph::reshape(g, linear(g, rows, {p.at(2), p.at(3)}, true, name + ".out"), {n, t, d}, name + ".out.view");
}

}  // namespace

Lowered lower(const ModelSpec& spec, int64_t batch, const std::vector<Device>& devices, Purpose purpose,
              uint64_t seed) {
  const bool training = purpose == Purpose::training;
  Lowered m;
  graph::Graph& g = m.g;
  const auto sources = spec.sources();
  std::vector<int64_t> dims{batch};
  dims.insert(dims.end(), spec.input.begin(), spec.input.end());
  g.set_device(devices.at(0));
  m.input = g.input("input", Shape(std::span<const int64_t>(dims)), spec.token_input() ? DType::i32 : DType::f32);
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& l = spec.layers[i];
    const std::string name = spec.layer_name(i);
    g.set_group(static_cast<int>(i));
    g.set_device(devices.size() == 1 ? devices[0] : devices.at(i));
    std::vector<ValueId> in;
    for (int s : sources[i]) in.push_back(s < 0 ? m.input : m.outputs.at(static_cast<size_t>(s)));
    const Shape& x = g.value(in.at(0)).shape;
    std::vector<int64_t> sample(x.begin() + 1, x.end());
    std::vector<ValueId> p;
    for (ParamSpec& ps : layer_params(l, Shape(std::span<const int64_t>(sample)))) {
      ps.layer = i;
      p.push_back(ps.buffer ? g.state(ps.name, ps.shape) : g.param(ps.name, ps.shape));
      (ps.buffer ? m.buffers : m.params).push_back(p.back());
      (ps.buffer ? m.buffer_specs : m.param_specs).push_back(std::move(ps));
    }
    ValueId y = graph::no_value;
    switch (l.type) {
      case LayerType::conv2d:
      {
        Conv2dParams c{l.stride, l.stride, l.pad, l.pad};
        c.dilation_h = c.dilation_w = l.dilation, c.groups = l.groups;
        // No parameters means an input the op cannot take: its shape rule names the problem.
        if (p.empty()) graph::conv2d(g, in[0], g.param(name + ".weight", {l.out, 1, l.kernel, l.kernel}), c, name);
        if (p.empty()) throw Error(ErrorKind::invalid_argument, "", "node " + name, "cannot take its input");
        y = graph::conv2d(g, in[0], p[0], c, name);
        if (l.bias) y = graph::bias_add(g, y, p[1], name + ".bias");
        break;
      }
      case LayerType::linear:
        if (!l.flatten) {
          y = per_row(g, in[0], name, [&](ValueId rows) { return linear(g, rows, p, l.bias, name); });
          break;
        }
        y = linear(g, g.value(in[0]).shape.rank() == 2 ? in[0] : graph::flatten(g, in[0], name + ".flatten"), p, l.bias, name);
        break;
      case LayerType::tokens: {
        const Shape& s = g.value(in[0]).shape;
        if (s.rank() != 4) throw Error(ErrorKind::invalid_argument, "", "node " + name, "tokens takes a [C, H, W] feature map, given " + sample_str(s));
        y = graph::permute(g, graph::reshape(g, in[0], {s[0], s[1], s[2] * s[3]}, name + ".flatten"), {0, 2, 1}, name);
        break;
      }
      case LayerType::class_token: {
        need_sequence(g, in[0], name, "class_token");
        const Shape& s = g.value(in[0]).shape;
        y = graph::concat(g, graph::expand(g, p[0], {s[0], 1, s[2]}, name + ".expand"), in[0], 1, name);
        break;
      }
      case LayerType::position_embedding: {
        need_sequence(g, in[0], name, "position_embedding");
        const int64_t t = g.value(in[0]).shape[1], table = g.value(p[0]).shape[1];
        if (t > table)
          throw Error(ErrorKind::invalid_argument, "", "node " + name,
                      "a sequence of " + std::to_string(t) + " tokens is longer than its position table (" +
                          std::to_string(table) + " positions)");
        y = graph::add(g, in[0], t == table ? p[0] : graph::slice(g, p[0], 1, 0, t, name + ".first"), name);
        break;
      }
      case LayerType::embedding:
        if (in[0] != m.input || !spec.token_input())
          throw Error(ErrorKind::invalid_argument, "", "node " + name, "embedding reads the model's token ids (\"input\")");
        y = graph::embedding(g, in[0], p.at(0), name);
        break;
      case LayerType::layernorm:
        if (p.empty()) need_sequence(g, in[0], name, "layernorm");
        y = graph::layernorm(g, in[0], p[0], p[1], {l.eps}, name);
        break;
      case LayerType::attention:
        need_sequence(g, in[0], name, "attention");
        y = attention(g, in[0], p, l.heads, name);
        break;
      case LayerType::gelu:
        y = graph::activation(g, in[0], l.tanh_approx ? Activation::gelu_tanh : Activation::gelu, name);
        break;
      case LayerType::tanh:
        y = graph::activation(g, in[0], Activation::tanh, name);
        break;
      case LayerType::sigmoid:
        y = graph::activation(g, in[0], Activation::sigmoid, name);
        break;
      case LayerType::slice: {
        const Shape& s = g.value(in[0]).shape;
        if (l.axis + 1 >= s.rank())
          throw Error(ErrorKind::invalid_argument, "", "node " + name, "axis " + std::to_string(l.axis) + " is outside its input " + sample_str(s));
        y = graph::slice(g, in[0], l.axis + 1, l.start, l.length, name);
        break;
      }
      case LayerType::relu:
        y = graph::relu(g, in[0], name);
        break;
      case LayerType::maxpool2d:
        y = graph::maxpool2d(g, in[0], {l.kernel, l.stride}, name)[0];
        break;
      case LayerType::add:
        y = graph::add(g, in[0], in.at(1), name);
        break;
      case LayerType::flatten:
        y = graph::flatten(g, in[0], name);
        break;
      case LayerType::batchnorm: {
        if (p.empty()) graph::batchnorm_infer(g, in[0], in[0], in[0], in[0], in[0], {}, name);  // names a bad input
        if (p.empty()) throw Error(ErrorKind::invalid_argument, "", "node " + name, "cannot take its input");
        const BatchNormParams b{l.eps, l.momentum};
        y = training ? graph::batchnorm_train(g, in[0], p[0], p[1], p[2], p[3], b, name)
                     : graph::batchnorm_infer(g, in[0], p[0], p[1], p[2], p[3], b, name);
        break;
      }
      case LayerType::avgpool2d:
        y = graph::avgpool2d(g, in[0], {l.kernel, l.stride}, name);
        break;
      case LayerType::global_avgpool:
        y = graph::global_avgpool(g, in[0], name);
        break;
      case LayerType::dropout:
        y = training && l.p > 0 ? graph::dropout(g, in[0], l.p, seed, name) : in[0];
        break;
    }
    m.outputs.push_back(y);
  }
  g.set_group(-1);
  return m;
}

}  // namespace tandem::nn
