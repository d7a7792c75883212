// Runs a graph: its memory planned once, its nodes in order, each on its device's stream.
// Device boundaries are the graph's transfer nodes (Graph::add places them), whose copies are
// stream-ordered with events where the devices allow.
#pragma once

#include <functional>

#include "tandem/graph/graph.h"
#include "tandem/graph/memory_plan.h"
#include "tandem/stream.h"

namespace tandem::graph {

class Executor {
 public:
  using StreamOf = std::function<Stream&(const Device&)>;
  /// Plans g's memory. stream_of gives the stream of each device the graph uses.
  Executor(Graph g, StreamOf stream_of);

  const Graph& graph() const { return g_; }
  /// For attributes that change between runs (the loss scale); not for structure.
  Node& node(size_t i) { return g_.node(i); }
  const MemoryPlan& plan() const { return plan_; }

  /// Gives a caller-owned value (an input, say) its tensor for the next runs.
  void bind(ValueId v, const Tensor& t);
  /// Allocates the planned slots (once; release() frees them).
  void allocate();
  void release();
  /// The tensor holding v: bound, or a view of its slot (after allocate()).
  const Tensor& tensor(ValueId v) const;

  using Hook = std::function<void(size_t node)>;
  /// Runs nodes [begin, end) in order; before and after (when given) bracket each node.
  void run(size_t begin, size_t end, const Hook& before = {}, const Hook& after = {});

 private:
  void refresh_views();
  Graph g_;
  StreamOf stream_of_;
  MemoryPlan plan_;
  std::vector<Buffer> slots_;
  std::vector<Tensor> tensors_;
  bool views_stale_ = true;
};

}  // namespace tandem::graph
