// Pruning: magnitude (per layer or global) and 2:4 structured masks, kept on the device.
#pragma once

#include <string>
#include <vector>

#include "tandem/nn/network.h"

namespace tandem::nn {

enum class PruneMethod { none, layer_magnitude, global_magnitude, two_four };

struct PruneConfig {
  PruneMethod method = PruneMethod::none;
  float sparsity = 0;   ///< final fraction of zero weights (2:4: 0.5)
  int start_epoch = 0;  ///< prune at the start of this epoch (dense training before it)
  int steps = 1;        ///< gradual: prune at `steps` consecutive epochs, rising to `sparsity`
};

/// "magnitude:0.8" (per layer), "global:0.8", "2:4", "none"; throws Error otherwise.
PruneConfig parse_prune(const std::string& text);
std::string prune_name(const PruneConfig& c);

/// Sparsity after gradual step k of n (Zhu & Gupta's cubic schedule): s·(1 − (1 − k/n)³).
float gradual_sparsity(float final_sparsity, int k, int n);

/// Computes masks from the current weights (on the host; exactly ⌊s·n⌋ weights pruned, the
/// smallest magnitudes, so already-pruned weights stay pruned), uploads them to each
/// parameter's device and applies them. 2:4 keeps the 2 largest of every 4 consecutive
/// weights along each output's inputs; a layer whose input length is not a multiple of 4 is
/// left dense (it is reported with sparsity 0).
void prune(Network& net, PruneMethod method, float sparsity);

/// Fraction of a parameter's elements that are exactly zero.
double sparsity(const Param& p);
/// Over all prunable parameters.
double overall_sparsity(const std::vector<Param*>& params);

}  // namespace tandem::nn
