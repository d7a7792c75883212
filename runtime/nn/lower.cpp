#include "lower.h"

#include "tandem/error.h"
#include "tandem/graph/ops.h"

namespace tandem::nn {

using graph::ValueId;

Lowered lower(const ModelSpec& spec, int64_t batch, const std::vector<Device>& devices, Purpose purpose,
              uint64_t seed) {
  const bool training = purpose == Purpose::training;
  Lowered m;
  graph::Graph& g = m.g;
  const auto sources = spec.sources();
  std::vector<int64_t> dims{batch};
  dims.insert(dims.end(), spec.input.begin(), spec.input.end());
  g.set_device(devices.at(0));
  m.input = g.input("input", Shape(std::span<const int64_t>(dims)));
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
      case LayerType::linear: {
        const ValueId flat = g.value(in[0]).shape.rank() == 2 ? in[0] : graph::flatten(g, in[0], name + ".flatten");
        y = graph::matmul(g, flat, p[0], false, true, name);  // y = x·Wᵀ
        if (l.bias) y = graph::bias_add(g, y, p[1], name + ".bias");
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
