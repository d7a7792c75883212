// Reverse-mode differentiation of a graph: the backward pass is derived from each op's
// backward rule (GraphOp::grad), not written per layer.
#pragma once

#include "tandem/graph/graph.h"

namespace tandem::graph {

/// Appends to g the nodes computing d loss / d v for each v of wrt (in the same order), and
/// returns the values that hold them. loss is the first output of the loss node (softmax_xent);
/// its seed gradient is 1 (the loss node's "dloss" attribute scales it). Gradients of a value
/// used more than once are summed; only values on a path from wrt to the loss get one. A v
/// that does not reach the loss gets zeros. Throws Error(unsupported) naming the node when an
/// op on such a path has no backward rule. Added nodes carry their forward node's group and
/// device and are marked backward.
std::vector<ValueId> differentiate(Graph& g, ValueId loss, const std::vector<ValueId>& wrt);

}  // namespace tandem::graph
