// Embedding rows gathered by id, and the gradient scattered back. The ids are checked first,
// so a bad one writes nothing.
#include <cstring>

#include "../kernels.h"

namespace tandem::cpu {

void embedding_forward(const OpCall& call) {
  const Tensor &ids = *call.in[0], &table = *call.in[1], &y = *call.out[0];
  const auto* id = static_cast<const int32_t*>(ids.data());
  check_indices(call, embedding_index_range(call), id, ids.numel());
  const int64_t d = table.shape()[1];
  const auto* T = static_cast<const float*>(table.data());
  auto* Y = static_cast<float*>(y.data());
  parallel_for(ids.numel(), y.numel(), [&](int64_t i) {
    std::memcpy(Y + i * d, T + int64_t{id[i]} * d, static_cast<size_t>(d) * sizeof(float));
  });
}
TANDEM_KERNEL(cpu_kernels, embedding_forward, embedding_forward);

// Columns in parallel, rows in index order within each: every table element's sum runs in the
// order of the ids, as on the other devices.
void embedding_backward(const OpCall& call) {
  const Tensor &ids = *call.in[0], &dy = *call.in[1], &dtable = *call.out[0];
  const auto* id = static_cast<const int32_t*>(ids.data());
  check_indices(call, embedding_index_range(call), id, ids.numel());
  const int64_t d = dtable.shape()[1], n = ids.numel();
  const auto* DY = static_cast<const float*>(dy.data());
  auto* DT = static_cast<float*>(dtable.data());
  constexpr int64_t cols = 16;
  parallel_for((d + cols - 1) / cols, dy.numel(), [&](int64_t cb) {
    const int64_t c0 = cb * cols, c1 = std::min(d, c0 + cols);
    for (int64_t i = 0; i < n; ++i) {
      float* row = DT + int64_t{id[i]} * d;
      const float* g = DY + i * d;
      for (int64_t c = c0; c < c1; ++c) row[c] += g[c];
    }
  });
}
TANDEM_KERNEL(cpu_kernels, embedding_backward, embedding_backward);

}  // namespace tandem::cpu
