// Embedding rows gathered by id, and the gradient scattered back into the table. The ids are
// checked on the device and the verdict read back before anything is written, failing with the
// CPU's message. The scatter is a thread per column adding the rows in the order of the ids (no
// atomics), so every table element's sum is the CPU's, bit for bit, repeated ids included.
#include "common.cuh"
#include "op.h"

namespace tandem::cuda {
namespace {

// y [n, d] = table[ids] : a thread per element of y.
__global__ void embedding_gather_kernel(const int32_t* ids, const float* table, float* y, int64_t d, int64_t total) {
  TANDEM_GRID_LOOP(e, total) {
    const int64_t i = chunk_of(e, d), c = e - i * d;
    y[e] = table[static_cast<int64_t>(ids[i]) * d + c];
  }
}

// dtable[ids[i]] += dy[i] for i in order, column c by thread c: adjacent threads touch adjacent
// columns of the same rows, so the loads and stores coalesce.
__global__ void embedding_scatter_kernel(const int32_t* ids, const float* dy, float* dtable, int64_t n, int64_t d) {
  TANDEM_GRID_LOOP(c, d) {
    for (int64_t i = 0; i < n; ++i) dtable[static_cast<int64_t>(ids[i]) * d + c] += dy[i * d + c];
  }
}

void check_ids(const Op& op, const Tensor& ids) {
  const IndexRange r = embedding_index_range(op.call);
  const IndexCheck bad = check_indices(op, static_cast<const int32_t*>(ids.data()), ids.numel(), r.lo, r.hi);
  if (bad.first_bad >= 0) index_error(op.call, r, bad.first_bad, bad.bad_value);
}

}  // namespace

void embedding_forward(const OpCall& c) {
  const Op op(c);
  const Tensor &ids = *c.in[0], &table = *c.in[1], &y = *c.out[0];
  check_ids(op, ids);
  if (y.numel() == 0) return;
  embedding_gather_kernel<<<op.grid(y.numel()), block_threads, 0, op.s()>>>(
      static_cast<const int32_t*>(ids.data()), static_cast<const float*>(table.data()), static_cast<float*>(y.data()),
      table.shape()[1], y.numel());
  op.launched("embedding_forward");
}
TANDEM_KERNEL(cuda_kernels, embedding_forward, embedding_forward);

void embedding_backward(const OpCall& c) {
  const Op op(c);
  const Tensor &ids = *c.in[0], &dy = *c.in[1], &dtable = *c.out[0];
  check_ids(op, ids);
  const int64_t n = ids.numel(), d = dtable.shape()[1];
  if (n == 0 || d == 0) return;
  embedding_scatter_kernel<<<op.grid(d), block_threads, 0, op.s()>>>(
      static_cast<const int32_t*>(ids.data()), static_cast<const float*>(dy.data()), static_cast<float*>(dtable.data()),
      n, d);
  op.launched("embedding_backward");
}
TANDEM_KERNEL(cuda_kernels, embedding_backward, embedding_backward);

}  // namespace tandem::cuda
