// The built-in models (internal): load_model's names.
#pragma once

#include <optional>

#include "tandem/nn/model.h"

namespace tandem::nn {

std::optional<ModelSpec> builtin_model(const std::string& name);

}  // namespace tandem::nn
