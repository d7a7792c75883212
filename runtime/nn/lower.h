// Lowering a model description to the graph IR (internal): each layer becomes its nodes
// (conv2d + bias_add, flatten + matmul + bias_add, ...) in the layer's group, on its device.
#pragma once

#include "tandem/graph/graph.h"
#include "tandem/nn/network.h"

namespace tandem::nn {

struct Lowered {
  graph::Graph g;
  graph::ValueId input = graph::no_value;
  std::vector<graph::ValueId> outputs;  ///< per layer: its output
  std::vector<graph::ValueId> params;   ///< in ModelSpec::params() order
  std::vector<ParamSpec> param_specs;
  std::vector<graph::ValueId> buffers;  ///< state values, in ModelSpec::buffers() order
  std::vector<ParamSpec> buffer_specs;
};

/// The forward graph of spec for a batch, layer i on devices[i] (or all on devices[0]). Training
/// uses batch statistics and dropout; inference running statistics and no dropout. seed keys
/// the dropout masks.
/// Throws Error(invalid_argument) naming the node whose shapes do not fit.
Lowered lower(const ModelSpec& spec, int64_t batch, const std::vector<Device>& devices, Purpose purpose,
              uint64_t seed = 0);

}  // namespace tandem::nn
