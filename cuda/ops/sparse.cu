// Sparse codec primitives: stratified sampling, scatter-add and Philox-keyed random fill, each
// bit-identical to the CPU. scatter_add with distinct increasing indices (what compact and sample
// produce) adds one element per thread; otherwise the payload is stably sorted by index (CUB) and
// each run of equal indices adds its values in their original order, as the CPU's loop does.
#include <cub/device/device_radix_sort.cuh>
#include <string>

#include "common.cuh"
#include "op.h"

namespace tandem::cuda {
namespace {

// Stratum j is [⌊jn/k⌋, ⌊(j+1)n/k⌋); its element is start + ⌊random_u32(key, j)·size / 2³²⌋.
__global__ void sample_kernel(const float* x, int32_t* idx, float* val, int64_t n, int64_t k,
                              numeric::RandomKey key, bool scaled) {
  TANDEM_GRID_LOOP(j, k) {
    const int64_t start = j * n / k, size = (j + 1) * n / k - start;
    const uint64_t pick = (uint64_t{numeric::random_u32(key, static_cast<uint64_t>(j))} * uint64_t(size)) >> 32;
    const int64_t i = start + static_cast<int64_t>(pick);
    idx[j] = static_cast<int32_t>(i);
    val[j] = scaled ? __fmul_rn(x[i], static_cast<float>(size)) : x[i];
  }
}

__global__ void scatter_distinct_kernel(const int32_t* idx, const float* val, float* y, int64_t m) {
  TANDEM_GRID_LOOP(j, m) y[idx[j]] = __fadd_rn(y[idx[j]], val[j]);
}

__global__ void iota_kernel(uint32_t* v, int64_t m) { TANDEM_GRID_LOOP(j, m) v[j] = static_cast<uint32_t>(j); }

// keys sorted stably, pos the original positions: the first of each run of equal keys adds the
// run's values in their original order.
__global__ void scatter_runs_kernel(const uint32_t* keys, const uint32_t* pos, const float* val, float* y, int64_t m) {
  TANDEM_GRID_LOOP(p, m) {
    if (p > 0 && keys[p] == keys[p - 1]) continue;
    float acc = y[keys[p]];
    for (int64_t q = p; q < m && keys[q] == keys[p]; ++q) acc = __fadd_rn(acc, val[pos[q]]);
    y[keys[p]] = acc;
  }
}

__global__ void random_fill_kernel(float* y, int64_t n, numeric::RandomKey key, uint64_t blocks, float lo,
                                   float span) {
  TANDEM_GRID_LOOP(t, static_cast<int64_t>(blocks)) {
    for_philox_block(key, n, static_cast<uint64_t>(t), [&](int64_t i, uint32_t word) {
      y[i] = __fadd_rn(lo, __fmul_rn(span, numeric::uniform_from(word)));
    });
  }
}

}  // namespace

void sample(const OpCall& c) {
  const Op op(c);
  const auto& p = c.param<SampleParams>();
  const int64_t n = c.in[0]->numel(), k = c.out[0]->numel();
  sample_kernel<<<op.grid(k), block_threads, 0, op.s()>>>(static_cast<const float*>(c.in[0]->data()),
                                                          static_cast<int32_t*>(c.out[0]->data()),
                                                          static_cast<float*>(c.out[1]->data()), n, k, p.key, p.scaled);
  op.launched("sample");
}
TANDEM_KERNEL(cuda_kernels, sample, sample);

void scatter_add(const OpCall& c) {
  const Op op(c);
  const Tensor &idx = *c.in[0], &val = *c.in[1], &y = *c.out[0];
  const int64_t m = idx.numel(), n = y.numel();
  const auto* is = static_cast<const int32_t*>(idx.data());
  const auto* vs = static_cast<const float*>(val.data());
  float* ys = static_cast<float*>(y.data());
  // Every index is checked before anything is added, as on every backend.
  const IndexRange r = scatter_index_range(c);
  const IndexCheck chk = check_indices(op, is, m, r.lo, r.hi);
  if (chk.first_bad >= 0) index_error(c, r, chk.first_bad, chk.bad_value);
  if (m == 0) return;
  if (chk.increasing) {
    scatter_distinct_kernel<<<op.grid(m), block_threads, 0, op.s()>>>(is, vs, ys, m);
    op.launched("scatter_add");
    return;
  }
  // Valid indices are non-negative: sort them as unsigned, only over the bits n − 1 needs.
  int bits = 1;
  while (bits < 32 && ((n - 1) >> bits) != 0) ++bits;
  const size_t words = static_cast<size_t>(m) * sizeof(uint32_t);
  const Scratch keys(op, words), pos_in(op, words), pos(op, words);
  iota_kernel<<<op.grid(m), block_threads, 0, op.s()>>>(pos_in.as<uint32_t>(), m);
  op.launched("scatter_add iota");
  const auto* keys_in = reinterpret_cast<const uint32_t*>(is);
  size_t temp_bytes = 0;
  TANDEM_OP_CHECK(op, cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, keys_in, keys.as<uint32_t>(),
                                                      pos_in.as<uint32_t>(), pos.as<uint32_t>(), m, 0, bits, op.s()));
  const Scratch temp(op, temp_bytes);
  TANDEM_OP_CHECK(op, cub::DeviceRadixSort::SortPairs(temp.get(), temp_bytes, keys_in, keys.as<uint32_t>(),
                                                      pos_in.as<uint32_t>(), pos.as<uint32_t>(), m, 0, bits, op.s()));
  scatter_runs_kernel<<<op.grid(m), block_threads, 0, op.s()>>>(keys.as<uint32_t>(), pos.as<uint32_t>(), vs, ys, m);
  op.launched("scatter_add runs");
}
TANDEM_KERNEL(cuda_kernels, scatter_add, scatter_add);

void random_fill(const OpCall& c) {
  const Op op(c);
  const auto& p = c.param<RandomFillParams>();
  const int64_t n = c.out[0]->numel();
  if (n == 0) return;
  const uint64_t blocks = philox_blocks(p.key, n);
  // lo + (hi − lo)·u with the CPU's three roundings (hi − lo is rounded once, here as there).
  random_fill_kernel<<<op.grid(static_cast<int64_t>(blocks)), block_threads, 0, op.s()>>>(
      static_cast<float*>(c.out[0]->data()), n, p.key, blocks, p.lo, p.hi - p.lo);
  op.launched("random_fill");
}
TANDEM_KERNEL(cuda_kernels, random_fill, random_fill);

}  // namespace tandem::cuda
