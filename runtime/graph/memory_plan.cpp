#include "tandem/graph/memory_plan.h"

#include <algorithm>

#include "tandem/graph/op.h"

namespace tandem::graph {
namespace {

bool caller_owned(const Value& v) { return v.kind != ValueKind::activation || static_cast<bool>(v.bound); }

}  // namespace

size_t MemoryPlan::bytes(const Device& d) const {
  size_t b = 0;
  for (const Slot& s : slots)
    if (s.device == d) b += s.bytes;
  return b;
}

size_t MemoryPlan::unplanned_bytes(const Graph& g, const Device& d) const {
  size_t b = 0;
  for (size_t v = 0; v < g.values(); ++v)
    if (slot[v] >= 0 && root[v] == static_cast<ValueId>(v) && g.value(static_cast<ValueId>(v)).device == d)
      b += g.value(static_cast<ValueId>(v)).nbytes();
  return b;
}

MemoryPlan plan_memory(const Graph& g) {
  const size_t nv = g.values(), nn = g.nodes();
  MemoryPlan p;
  p.root.resize(nv), p.slot.assign(nv, -1), p.first.assign(nv, -1), p.last.assign(nv, -1);
  for (size_t v = 0; v < nv; ++v) {
    p.root[v] = static_cast<ValueId>(v);
    p.first[v] = g.value(static_cast<ValueId>(v)).producer;
    p.last[v] = g.is_output(static_cast<ValueId>(v)) ? static_cast<int>(nn) : p.first[v];
  }
  for (size_t i = 0; i < nn; ++i)
    for (ValueId v : g.node(i).inputs) p.last[static_cast<size_t>(v)] = std::max(p.last[static_cast<size_t>(v)], static_cast<int>(i));

  // Roots and the values sharing each one's memory; a root's memory lives until its members' last use.
  std::vector<std::vector<ValueId>> members(nv);
  for (size_t v = 0; v < nv; ++v) members[v] = {static_cast<ValueId>(v)};
  auto end_of = [&](ValueId root) {
    int e = -1;
    for (ValueId m : members[static_cast<size_t>(root)]) e = std::max(e, p.last[static_cast<size_t>(m)]);
    return e;
  };
  auto join = [&](ValueId v, ValueId root) {
    p.root[static_cast<size_t>(v)] = root;
    members[static_cast<size_t>(root)].push_back(v);
    members[static_cast<size_t>(v)].clear();
  };
  for (size_t i = 0; i < nn; ++i) {
    const Node& n = g.node(i);
    if (n.op->view) {
      join(n.outputs[0], p.root[static_cast<size_t>(n.inputs[0])]);
      continue;
    }
    for (const auto& [o, in] : n.op->in_place) {
      const ValueId out = n.outputs[static_cast<size_t>(o)], x = n.inputs[static_cast<size_t>(in)];
      const ValueId r = p.root[static_cast<size_t>(x)];
      const Value &ov = g.value(out), &xv = g.value(x), &rv = g.value(r);
      if (caller_owned(ov) || caller_owned(rv) || p.root[static_cast<size_t>(out)] != out) continue;
      if (ov.nbytes() != xv.nbytes() || ov.dtype != xv.dtype || !(ov.device == xv.device)) continue;
      if (end_of(r) > static_cast<int>(i)) continue;  // read later: the node must not overwrite it
      // Another input in the same memory would be overlapped by the output: only the very same value may be.
      bool clash = false;
      for (size_t k = 0; k < n.inputs.size(); ++k)
        if (static_cast<int>(k) != in && p.root[static_cast<size_t>(n.inputs[k])] == r && n.inputs[k] != x) clash = true;
      if (!clash) join(out, r);
    }
  }

  // Slots: a root takes one when its first member is written and gives it back after its last use.
  std::vector<std::vector<ValueId>> born(nn), dies(nn + 1);
  for (size_t v = 0; v < nv; ++v) {
    if (p.root[v] != static_cast<ValueId>(v) || caller_owned(g.value(static_cast<ValueId>(v)))) continue;
    if (p.first[v] < 0) continue;  // its producer was removed: nothing writes it
    born[static_cast<size_t>(p.first[v])].push_back(static_cast<ValueId>(v));
    dies[static_cast<size_t>(std::max(end_of(static_cast<ValueId>(v)), p.first[v]))].push_back(static_cast<ValueId>(v));
  }
  std::vector<int> free_slots;
  for (size_t i = 0; i < nn; ++i) {
    for (ValueId v : born[i]) {
      const Value& val = g.value(v);
      const size_t need = std::max<size_t>(val.nbytes(), 1);
      int best = -1;  // the smallest free slot that fits, else the largest free one (grown)
      for (int s : free_slots) {
        const MemoryPlan::Slot& sl = p.slots[static_cast<size_t>(s)];
        if (!(sl.device == val.device)) continue;
        if (best < 0) {
          best = s;
          continue;
        }
        const size_t b = p.slots[static_cast<size_t>(best)].bytes;
        const bool fits = sl.bytes >= need, best_fits = b >= need;
        if ((fits && (!best_fits || sl.bytes < b)) || (!fits && !best_fits && sl.bytes > b)) best = s;
      }
      if (best < 0) {
        best = static_cast<int>(p.slots.size());
        p.slots.push_back({val.device, need});
      } else {
        free_slots.erase(std::find(free_slots.begin(), free_slots.end(), best));
        p.slots[static_cast<size_t>(best)].bytes = std::max(p.slots[static_cast<size_t>(best)].bytes, need);
      }
      p.slot[static_cast<size_t>(v)] = best;
    }
    for (ValueId v : dies[i]) free_slots.push_back(p.slot[static_cast<size_t>(v)]);
  }
  for (size_t v = 0; v < nv; ++v) p.slot[v] = p.slot[static_cast<size_t>(p.root[v])];
  return p;
}

}  // namespace tandem::graph
