#include "tandem/graph/autodiff.h"

#include "tandem/error.h"
#include "tandem/graph/ops.h"

namespace tandem::graph {
namespace {

// The sum of a value's gradient contributions, as add nodes in the order they arrived.
ValueId sum(Graph& g, const std::vector<ValueId>& parts, std::string name) {
  if (parts.empty()) return no_value;
  ValueId s = parts[0];
  for (size_t k = 1; k < parts.size(); ++k) s = add(g, s, parts[k], name + ".grad.sum" + std::to_string(k));
  return s;
}

}  // namespace

std::vector<ValueId> differentiate(Graph& g, ValueId loss, const std::vector<ValueId>& wrt) {
  const size_t forward_nodes = g.nodes(), n_values = g.values();
  // A value wants a gradient when it depends on one of wrt and the loss depends on it.
  std::vector<bool> depends(n_values, false), reaches(n_values, false);
  for (ValueId v : wrt) depends[static_cast<size_t>(v)] = true;
  for (size_t i = 0; i < forward_nodes; ++i) {
    bool any = false;
    for (ValueId v : g.node(i).inputs) any = any || depends[static_cast<size_t>(v)];
    for (ValueId v : g.node(i).outputs) depends[static_cast<size_t>(v)] = any;
  }
  reaches[static_cast<size_t>(loss)] = true;
  for (size_t i = forward_nodes; i-- > 0;) {
    bool any = false;
    for (ValueId v : g.node(i).outputs) any = any || reaches[static_cast<size_t>(v)];
    if (any)
      for (ValueId v : g.node(i).inputs) reaches[static_cast<size_t>(v)] = true;
  }

  std::vector<std::vector<ValueId>> parts(n_values);
  parts[static_cast<size_t>(loss)].push_back(seed_gradient);
  const int group = g.group();
  const Device device = g.device();
  for (size_t i = forward_nodes; i-- > 0;) {
    const Node n = g.node(i);  // a copy: the rule's nodes may move the graph's storage
    std::vector<ValueId> dy;
    bool flows = false;
    g.set_group(n.group), g.set_device(n.device), g.set_backward(true);
    for (ValueId v : n.outputs) {
      const auto& p = parts[static_cast<size_t>(v)];
      dy.push_back(p.size() == 1 ? p[0] : sum(g, p, g.value(v).name));
      flows = flows || !p.empty();
    }
    if (!flows) continue;
    std::vector<bool> wanted;
    bool any = false;
    for (ValueId v : n.inputs) {
      wanted.push_back(depends[static_cast<size_t>(v)] && reaches[static_cast<size_t>(v)]);
      any = any || wanted.back();
    }
    if (!any) continue;
    if (n.op->grad == nullptr)
      throw Error(ErrorKind::unsupported, "", "node " + n.name + " (" + n.op->name + ")",
                  "has no backward rule, and a gradient must flow through it");
    GradCtx ctx(g, i, dy, wanted);
    n.op->grad(ctx);
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (ctx.dx()[k] != no_value) parts[static_cast<size_t>(n.inputs[k])].push_back(ctx.dx()[k]);
  }
  std::vector<ValueId> out;
  for (ValueId v : wrt) {
    const Value val = g.value(v);  // a copy: adding nodes moves the values
    int first_use = -1;
    for (size_t i = 0; i < forward_nodes && first_use < 0; ++i)
      for (ValueId in : g.node(i).inputs)
        if (in == v) first_use = g.node(i).group;
    g.set_device(val.device), g.set_group(first_use);
    const auto& p = parts[static_cast<size_t>(v)];
    out.push_back(p.empty() ? zeros(g, val.shape, val.name + ".grad.zeros") : sum(g, p, val.name));
  }
  g.set_group(group), g.set_device(device), g.set_backward(false);
  return out;
}

}  // namespace tandem::graph
