// What the CPU's kernel files share: their registration list and the OpenMP loop helpers. One
// file per op family under ops/, named like the descriptors in runtime/src/ops/.
#pragma once

#include <algorithm>

#include "tandem/backend.h"
#include "tandem/ops.h"

namespace tandem::cpu {

/// The CPU's kernels, one TANDEM_KERNEL line beside each in ops/<op family>.cpp.
KernelList& cpu_kernels();

/// Loops touching fewer elements than this run on the calling thread: waking the team costs
/// more than it saves.
inline constexpr int64_t parallel_threshold = 1 << 15;

/// Runs body(i) for i in [0, n), spread over the OpenMP team when `work` (elements touched)
/// exceeds parallel_threshold. Small work skips OpenMP entirely: even a region whose if-clause
/// is false costs about half a microsecond in libgomp.
template <class Body>
void parallel_for(int64_t n, int64_t work, Body body) {
  if (work <= parallel_threshold) {
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) body(i);
}

inline constexpr int64_t for_blocks_size = 1024;

/// Calls f(first, count) over [0, n) in blocks of for_blocks_size (parallel when n is large).
template <class F>
void for_blocks(int64_t n, F f) {
  parallel_for((n + for_blocks_size - 1) / for_blocks_size, n,
               [&](int64_t b) { f(b * for_blocks_size, std::min(for_blocks_size, n - b * for_blocks_size)); });
}

}  // namespace tandem::cpu
