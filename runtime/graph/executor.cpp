#include "tandem/graph/executor.h"

#include "tandem/error.h"
#include "tandem/graph/op.h"

namespace tandem::graph {

Executor::Executor(Graph g, StreamOf stream_of)
    : g_(std::move(g)), stream_of_(std::move(stream_of)), plan_(plan_memory(g_)), tensors_(g_.values()) {
  for (size_t v = 0; v < g_.values(); ++v)
    if (g_.value(static_cast<ValueId>(v)).bound) tensors_[v] = g_.value(static_cast<ValueId>(v)).bound;
}

void Executor::bind(ValueId v, const Tensor& t) {
  const Value& val = g_.value(v);
  if (!(t.shape() == val.shape) || t.dtype() != val.dtype || !(t.device() == val.device))
    throw Error(ErrorKind::invalid_argument, t.device().id(), "graph value " + val.name,
                "given " + t.str() + ", expects " + std::string(dtype_name(val.dtype)) + val.shape.str() + " on " +
                    val.device.id());
  tensors_[static_cast<size_t>(v)] = t;
  views_stale_ = true;
}

void Executor::allocate() {
  if (!slots_.empty() || plan_.slots.empty()) return;
  for (const MemoryPlan::Slot& s : plan_.slots) slots_.push_back(Buffer::allocate(s.device, s.bytes));
  for (size_t v = 0; v < g_.values(); ++v) {
    const int s = plan_.slot[v];
    if (s < 0) continue;
    const Value& val = g_.value(static_cast<ValueId>(v));
    tensors_[v] = Tensor(slots_[static_cast<size_t>(s)], val.shape, val.dtype);
  }
  views_stale_ = true;
}

void Executor::release() {
  for (size_t v = 0; v < g_.values(); ++v)
    if (plan_.slot[v] >= 0) tensors_[v] = Tensor();
  slots_.clear();
}

// Views of caller-owned values follow what was bound last.
void Executor::refresh_views() {
  for (size_t v = 0; v < g_.values(); ++v) {
    const ValueId r = plan_.root[v];
    if (plan_.slot[v] >= 0 || r == static_cast<ValueId>(v) || !tensors_[static_cast<size_t>(r)]) continue;
    tensors_[v] = tensors_[static_cast<size_t>(r)].reshape(g_.value(static_cast<ValueId>(v)).shape);
  }
  views_stale_ = false;
}

const Tensor& Executor::tensor(ValueId v) const { return tensors_.at(static_cast<size_t>(v)); }

void Executor::run(size_t begin, size_t end, const Hook& before, const Hook& after) {
  allocate();
  if (views_stale_) refresh_views();
  std::vector<Tensor> in, out;
  for (size_t i = begin; i < end; ++i) {
    const Node& n = g_.node(i);
    in.clear(), out.clear();
    for (ValueId v : n.inputs) in.push_back(tensors_[static_cast<size_t>(v)]);
    for (ValueId v : n.outputs) out.push_back(tensors_[static_cast<size_t>(v)]);
    for (size_t k = 0; k < in.size(); ++k)
      if (!in[k])
        throw Error(ErrorKind::invalid_argument, n.device.id(), "node " + n.name,
                    "input " + g_.value(n.inputs[k]).name + " has no tensor (an unbound graph input)");
    if (before) before(i);
    RunCtx ctx{stream_of_(n.device), n, in, out, stream_of_};
    n.op->run(ctx);
    if (after) after(i);
  }
}

}  // namespace tandem::graph
