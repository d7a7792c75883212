// Placement: which device runs each layer of a model's graph, chosen to minimize the predicted
// step time, transfers included — every edge of the DAG counts, a residual's shortcut as much as
// the main path — so that devices change only where the compute saved outweighs the copies (runs
// of layers, not single ops, move). User pins are honoured; a pinned or chosen device that lacks an
// op of the layer is never used for it, and the fallback is reported once per layer with the
// reason.
//
// The search is dynamic programming over the layers in topological order whose state is the
// device of every live layer (computed, and read by a layer still to come): exact, and for a
// chain the classic one-state-per-device recurrence. A residual network keeps two or three layers
// live, so the states stay few (devices^live); past max_plan_states the cheapest are kept (a
// beam), which only a very wide graph reaches.
#pragma once

#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace tandem::nn {

inline constexpr double kUnsupported = std::numeric_limits<double>::infinity();

/// What running one layer costs on each candidate device.
struct LayerCost {
  std::string name;
  std::vector<double> seconds;       ///< per device: predicted forward + backward; kUnsupported when it cannot
  std::vector<std::string> missing;  ///< per device: why it cannot ("no kernel for conv2d_backward_data"), else ""
  double out_bytes = 0;              ///< the activation it passes to each reader (whose gradient comes back)
  /// The layers it reads (indices of earlier layers; -1: the model's input, already wherever it
  /// is needed). Empty: the layer before it (a chain).
  std::vector<int> inputs = {};
};

inline constexpr size_t max_plan_states = size_t{1} << 14;

struct PlanInput {
  std::vector<std::string> devices;  ///< ids, e.g. "cpu:0", "fpga-sim:0"
  std::vector<LayerCost> layers;
  /// bytes/s between devices [from][to] (the diagonal is ignored: no copy); empty: 10 GB/s everywhere
  std::vector<std::vector<double>> bandwidth;
  double latency = 10e-6;  ///< seconds per copy between devices
  /// (layer name pattern, device id); patterns may end in '*' ("fc*"). Later pins win.
  std::vector<std::pair<std::string, std::string>> pins;
};

struct Plan {
  std::vector<int> device;               ///< per layer, an index into PlanInput::devices
  std::vector<double> layer_seconds;     ///< predicted, per layer on its device
  std::vector<double> transfer_seconds;  ///< per layer: the copies into it (activations in, gradients out)
  double total_seconds = 0;
  std::vector<std::string> warnings;  ///< one per layer that could not run where pinned
};

/// "conv1=fpga-sim:0,fc*=cpu:0" → pins; Error(invalid_argument) naming a malformed entry.
std::vector<std::pair<std::string, std::string>> parse_pins(const std::string& text);

/// Error(invalid_argument) when a pin names a device not in `devices`, places none of `layers`
/// (listing them), or two pins place one layer on different devices. plan_placement checks the
/// same; commands call it before they calibrate or train.
void check_pins(const std::vector<std::pair<std::string, std::string>>& pins, const std::vector<std::string>& layers,
                const std::vector<std::string>& devices);

/// The placement with the least predicted step time. Error(invalid_argument) when a pin names an
/// unknown device, or a layer can run nowhere (naming the layer and every device's reason).
Plan plan_placement(const PlanInput& in);

}  // namespace tandem::nn
