// Which kernels the CPU backend's BLAS (OpenBLAS) runs, and whether the CPU could run faster ones.
// OpenBLAS picks its kernel set at start-up from the CPU, unless OPENBLAS_CORETYPE overrides the
// choice, and an old OpenBLAS falls back to old kernels on a CPU it does not know: either way
// GEMM and the convolutions built on it then run well below what the CPU allows (on an AVX-512
// EPYC, 194 GFLOP/s sgemm on 2 cores with Haswell kernels instead of 350). `tandem info` and
// training say so; benchmarks record the kernel set next to their numbers.
#pragma once

#include <string>

namespace tandem {

struct BlasKernels {
  std::string library;   ///< openblas_get_config(): version and build options
  std::string kernels;   ///< the kernel set running: "Haswell", "SkylakeX", "Zen", "Prescott"
  std::string isa;       ///< the instruction set those kernels use: "AVX2"; "unknown" for a set this table lacks
  std::string cpu_isa;   ///< the newest instruction set of that list this CPU has: "AVX-512"
  std::string coretype;  ///< OPENBLAS_CORETYPE as set in the environment; empty when unset
  bool slower_than_cpu = false;  ///< the kernels use an older instruction set than the CPU has

  /// One line saying what runs, what the CPU could run and why ("" when nothing is lost).
  std::string warning() const;
};

/// What this process's OpenBLAS runs (read once; OpenBLAS chooses at load time).
const BlasKernels& blas_kernels();

}  // namespace tandem
