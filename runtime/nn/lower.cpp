#include "lower.h"

#include "tandem/error.h"
#include "tandem/graph/ops.h"

namespace tandem::nn {

using graph::ValueId;

Lowered lower(const ModelSpec& spec, int64_t batch, const std::vector<Device>& devices, Purpose /*purpose*/) {
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
      p.push_back(g.param(ps.name, ps.shape));
      m.params.push_back(p.back());
      m.param_specs.push_back(std::move(ps));
    }
    ValueId y = graph::no_value;
    switch (l.type) {
      case LayerType::conv2d:
        y = graph::conv2d(g, in[0], p[0], {l.stride, l.stride, l.pad, l.pad}, name);
        if (l.bias) y = graph::bias_add(g, y, p[1], name + ".bias");
        break;
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
    }
    m.outputs.push_back(y);
  }
  g.set_group(-1);
  return m;
}

}  // namespace tandem::nn
