#include "tandem/blas.h"

#include <cblas.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string_view>

namespace tandem {
namespace {

// Instruction-set levels, oldest first; each names the OpenBLAS kernel set to ask for it by.
struct Level {
  const char* isa;
  const char* coretype;
};
constexpr Level levels[] = {{"SSE3", "Prescott"}, {"AVX", "Sandybridge"}, {"AVX2", "Haswell"}, {"AVX-512", "SkylakeX"}};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// OpenBLAS 0.3's x86-64 kernel sets (driver/others/dynamic.c) by the instruction set they use;
// -1 for a name not listed (another architecture, a newer OpenBLAS).
int kernel_level(std::string_view name) {
  const std::string n = lower(name);
  for (const char* k : {"prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "opteron", "opteron_sse3",
                        "barcelona", "bobcat", "nano"})
    if (n == k) return 0;
  for (const char* k : {"sandybridge", "bulldozer", "piledriver", "steamroller", "excavator"})
    if (n == k) return 1;
  for (const char* k : {"haswell", "zen"})
    if (n == k) return 2;
  for (const char* k : {"skylakex", "cooperlake", "sapphirerapids"})
    if (n == k) return 3;
  return -1;
}

int cpu_level() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  // SkylakeX kernels need AVX-512 F, BW, DQ and VL (CD too, which every such CPU has).
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return 3;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 2;
  if (__builtin_cpu_supports("avx")) return 1;
  return 0;
#else
  return -1;
#endif
}

BlasKernels read() {
  BlasKernels b;
  b.library = openblas_get_config();
  b.kernels = openblas_get_corename();
  if (const char* c = std::getenv("OPENBLAS_CORETYPE")) b.coretype = c;
  const int have = kernel_level(b.kernels), can = cpu_level();
  b.isa = have >= 0 ? levels[have].isa : "unknown";
  b.cpu_isa = can >= 0 ? levels[can].isa : "unknown";
  b.slower_than_cpu = have >= 0 && can > have;
  return b;
}

}  // namespace

std::string BlasKernels::warning() const {
  if (!slower_than_cpu) return "";
  std::string best;
  for (const Level& l : levels)
    if (cpu_isa == l.isa) best = l.coretype;
  const std::string why = coretype.empty()
                              ? "this OpenBLAS does not know the CPU (OPENBLAS_CORETYPE=" + best + " selects them)"
                              : "OPENBLAS_CORETYPE=" + coretype + " holds it there (unset it for the CPU's own)";
  return "OpenBLAS runs its " + kernels + " kernels (" + isa + ") on a CPU with " + cpu_isa +
         ": GEMM and convolutions run slower than this CPU allows; " + why;
}

const BlasKernels& blas_kernels() {
  static const BlasKernels b = read();
  return b;
}

}  // namespace tandem
