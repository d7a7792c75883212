// The CPU backend: host memory, inline streams, layer kernels on OpenBLAS and OpenMP.
#pragma once

#include <memory>

#include "tandem/backend.h"

namespace tandem::cpu {

/// The backend with its one device, cpu:0 (all cores, threads from OpenMP).
std::unique_ptr<Backend> make_backend();

}  // namespace tandem::cpu
