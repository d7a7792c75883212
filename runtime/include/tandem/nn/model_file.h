// Model files: a model description with its trained weights, for inference or more training.
// Two kinds are read: what `tandem train --export` writes (header kind "model": the description,
// the parameters, the sparsity) and a training checkpoint (kind "checkpoint": the same inside its
// config, with pruning masks and optimizer state besides, of which the masks are kept).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/nn/checkpoint.h"
#include "tandem/nn/model.h"

namespace tandem::nn {

class Network;

/// How a sample is normalized before the network sees it: (x − mean) · scale, x being the sample
/// as the data gives it (images: pixel / 255). The trainer fits it to the training set.
struct InputNorm {
  float mean = 0, scale = 1;
};

struct ModelFile {
  ModelSpec spec;
  InputNorm norm;                   ///< from the header's "normalize"; identity where a file has none
  std::vector<NamedTensor> params;  ///< one per ModelSpec::params(), in order, f32, named as there
  std::vector<NamedTensor> masks;   ///< a checkpoint's pruning masks, by parameter name (may be empty)
  std::vector<NamedTensor> buffers;  ///< one per ModelSpec::buffers() (running statistics), in order
  double sparsity = 0;              ///< share of prunable weights that are zero
};

/// Parses and checks a model file's bytes: the container (checkpoint.h), its kind, the
/// description, and every parameter present with the shape and dtype the description gives.
/// Throws Error(io) naming origin and what is wrong; touches no device.
ModelFile parse_model_file(std::string_view bytes, const std::string& origin);
ModelFile read_model_file(const std::string& path);

/// Writes the network's description, input normalization and current weights (kind "model"),
/// atomically. fold_batchnorm: each batch norm whose input is a convolution read by it alone is
/// folded into that convolution (its weights scaled, its bias made or adjusted, the
/// normalization gone): an inference model with the same outputs to rounding, smaller and
/// without the normalization pass (training from it would have no batch norm).
void write_model_file(const std::string& path, Network& net, const InputNorm& norm, bool fold_batchnorm = false);

/// The description and weights with batch norm folded as write_model_file does: `params` and
/// `buffers` (by name) become those of the returned spec. Returns the spec; `folded` counts.
ModelSpec fold_batchnorm_weights(const ModelSpec& spec, std::map<std::string, std::vector<float>>& params,
                                 std::map<std::string, std::vector<float>>& buffers, size_t* folded = nullptr);

/// Copies the file's weights (and masks) into a network built from its spec. A pruned model
/// without masks gets masks from its zeros, so that training keeps pruned weights at zero.
void load_weights(Network& net, const ModelFile& file);

}  // namespace tandem::nn
