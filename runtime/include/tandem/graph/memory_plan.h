// Memory planning: every activation of a graph gets a slot (one buffer on its device) so that
// values whose lifetimes overlap never share one; a value takes its input's slot when the op
// allows it (GraphOp::in_place) and the input is read by nothing later; views share their
// base's memory. Values the caller binds (inputs, parameters, state, parameter gradients) are
// not planned. Lifetimes follow the node order, so an activation is kept only as long as a
// node (a backward rule's, say) still reads it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tandem/graph/graph.h"

namespace tandem::graph {

struct MemoryPlan {
  struct Slot {
    Device device;
    size_t bytes = 0;
  };
  std::vector<Slot> slots;
  /// Per value: the value whose memory it uses (itself, or the base of its view or in-place chain).
  std::vector<ValueId> root;
  /// Per value: its root's slot, or -1 when the root is bound by the caller.
  std::vector<int> slot;
  /// Per value: the node that writes it (-1 if none) and the last node that needs its memory
  /// (the graph's node count for outputs).
  std::vector<int> first, last;

  /// Bytes of planned activations on a device (the sum of its slots).
  size_t bytes(const Device& d) const;
  /// Bytes every activation would take without reuse, on a device: what planning saves from.
  size_t unplanned_bytes(const Graph& g, const Device& d) const;
};

MemoryPlan plan_memory(const Graph& g);

}  // namespace tandem::graph
