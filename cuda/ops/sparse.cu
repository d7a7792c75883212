// Sparse codec primitives: stratified sampling, scatter-add and Philox-keyed random fill, each
// bit-identical to the CPU. scatter_add with distinct increasing indices (what compact and sample
// produce) adds one element per thread; otherwise the payload is stably sorted by index (CUB) and
// each run of equal indices adds its values in their original order, as the CPU's loop does.
//
// Selection by magnitude. kth_magnitude: an exact radix select over the bits of |x| (four passes
// of 8-bit histograms, the state on the device, no host round trip). compact: the CPU's three
// steps on tiles of 4096 — counts per tile, one block turning them into output offsets and tie
// quotas (ties go to the earliest tiles while the budget lasts), each tile writing its selections
// in index order — so the selection, its order and the count equal the CPU's exactly.
#include <cub/block/block_load.cuh>
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>
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

namespace {

// |x| as ordered bits; NaN as 0, below every number as on the CPU (where it ranks as −1 and the
// result is max(k-th, 0): both give 0 whenever the k-th largest is NaN or zero).
__device__ inline uint32_t magnitude_key(float v) {
  const uint32_t a = __float_as_uint(v) & 0x7fffffffu;
  return a > 0x7f800000u ? 0u : a;
}

struct SelectState {
  uint32_t prefix;       // the bits of the k-th largest key fixed so far
  unsigned long long k;  // its rank among the keys that share the prefix
};

__global__ void select_init(SelectState* st, unsigned long long* hist, unsigned long long k) {
  for (int b = threadIdx.x; b < 4 * 256; b += blockDim.x) hist[b] = 0;
  if (threadIdx.x == 0) *st = {0u, k};
}

// Histogram of the next 8 bits (at `shift`) of the keys that match the prefix above them.
__global__ void select_histogram(const float* x, int64_t n, int shift, const SelectState* st,
                                 unsigned long long* hist) {
  __shared__ unsigned int local[256];
  for (int b = threadIdx.x; b < 256; b += blockDim.x) local[b] = 0;
  __syncthreads();
  const uint32_t high = shift == 24 ? 0u : ~0u << (shift + 8), prefix = st->prefix & high;
  TANDEM_GRID_LOOP(i, n) {
    const uint32_t key = magnitude_key(x[i]);
    if ((key & high) == prefix) atomicAdd(&local[(key >> shift) & 255u], 1u);
  }
  __syncthreads();
  for (int b = threadIdx.x; b < 256; b += blockDim.x)
    if (local[b] != 0) atomicAdd(&hist[b], static_cast<unsigned long long>(local[b]));
}

// Walks the bins from the top to the one holding the k-th largest; the last pass writes it.
__global__ void select_pick(int shift, SelectState* st, const unsigned long long* hist, float* out) {
  unsigned long long seen = 0;
  for (int b = 255; b >= 0; --b) {
    if (seen + hist[b] >= st->k) {
      st->prefix |= static_cast<uint32_t>(b) << shift;
      st->k -= seen;
      break;
    }
    seen += hist[b];
  }
  if (shift == 0) *out = __uint_as_float(st->prefix);
}

constexpr int tile_threads = 256, tile_items = 16, tile = tile_threads * tile_items;
// One block of 1024 threads plans every tile; __launch_bounds__ keeps its registers within what a
// block that size may have (64 per thread), which the two CUB scans would otherwise exceed.
constexpr int plan_threads = 1024;

__global__ void compact_count(const float* x, int64_t n, const float* t, int32_t* greater, int32_t* equal) {
  using Reduce = cub::BlockReduce<int, tile_threads>;
  __shared__ typename Reduce::TempStorage tmp;
  const float th = *t;
  const int64_t base = static_cast<int64_t>(blockIdx.x) * tile;
  int g = 0, e = 0;
  for (int j = 0; j < tile_items; ++j) {  // striped, so loads coalesce; counts do not care
    const int64_t i = base + j * tile_threads + threadIdx.x;
    if (i < n) {
      const float m = fabsf(x[i]);
      g += m > th ? 1 : 0;
      e += m == th ? 1 : 0;
    }
  }
  g = Reduce(tmp).Sum(g);
  __syncthreads();
  e = Reduce(tmp).Sum(e);
  if (threadIdx.x == 0) greater[blockIdx.x] = g, equal[blockIdx.x] = e;
}

// One block: budget = max(0, limit − Σ greater); tile b takes min(equal[b], what is left of the
// budget) ties; offset[b] = selections in earlier tiles; count = all selections.
__global__ void __launch_bounds__(plan_threads)
    compact_plan(int64_t tiles, const int32_t* greater, const int32_t* equal, long long limit, long long* ties,
                 long long* offset, int32_t* count) {
  using Scan = cub::BlockScan<long long, plan_threads>;
  using Reduce = cub::BlockReduce<long long, plan_threads>;
  __shared__ union {
    typename Scan::TempStorage scan;
    typename Reduce::TempStorage reduce;
  } tmp;
  __shared__ long long carry_equal, carry_selected, budget;
  long long g = 0;
  for (int64_t b = threadIdx.x; b < tiles; b += plan_threads) g += greater[b];
  g = Reduce(tmp.reduce).Sum(g);
  if (threadIdx.x == 0) budget = limit - g > 0 ? limit - g : 0, carry_equal = 0, carry_selected = 0;
  __syncthreads();
  for (int64_t start = 0; start < tiles; start += plan_threads) {
    const int64_t b = start + threadIdx.x;
    const long long e = b < tiles ? equal[b] : 0;
    long long e_before = 0, e_total = 0;
    Scan(tmp.scan).ExclusiveSum(e, e_before, e_total);
    __syncthreads();
    const long long left = budget - (carry_equal + e_before);  // budget left when tile b starts
    const long long tie = left <= 0 ? 0 : left < e ? left : e;
    const long long sel = b < tiles ? greater[b] + tie : 0;
    long long s_before = 0, s_total = 0;
    Scan(tmp.scan).ExclusiveSum(sel, s_before, s_total);
    if (b < tiles) ties[b] = tie, offset[b] = carry_selected + s_before;
    __syncthreads();
    if (threadIdx.x == 0) carry_equal += e_total, carry_selected += s_total;
    __syncthreads();
  }
  if (threadIdx.x == 0) *count = static_cast<int32_t>(carry_selected);
}

__global__ void compact_write(const float* x, int64_t n, const float* t, const int32_t* greater, const long long* ties,
                              const long long* offset, int32_t* idx, float* val, int64_t cap) {
  using Load = cub::BlockLoad<float, tile_threads, tile_items, cub::BLOCK_LOAD_WARP_TRANSPOSE>;
  using Scan = cub::BlockScan<int, tile_threads>;
  __shared__ union {
    typename Load::TempStorage load;
    typename Scan::TempStorage scan;
  } tmp;
  const int64_t b = blockIdx.x, base = b * tile;
  const long long quota = ties[b];
  if (greater[b] + quota == 0 || offset[b] >= cap) return;  // the same for every thread of the block
  const int valid = n - base < tile ? static_cast<int>(n - base) : tile;
  float v[tile_items];  // blocked: this thread holds elements base + threadIdx.x·16 + j, in order
  Load(tmp.load).Load(x + base, v, valid, __uint_as_float(0x7fc00000u));  // NaN past the end: never selected
  __syncthreads();
  const float th = *t;
  int eq = 0;
  for (int j = 0; j < tile_items; ++j) eq += fabsf(v[j]) == th ? 1 : 0;
  int rank = 0;  // ties in this tile before this thread's
  Scan(tmp.scan).ExclusiveSum(eq, rank);
  __syncthreads();
  bool take[tile_items];
  int sel = 0;
  for (int j = 0; j < tile_items; ++j) {
    const float m = fabsf(v[j]);
    take[j] = m > th || (m == th && rank < quota);
    rank += m == th ? 1 : 0;
    sel += take[j] ? 1 : 0;
  }
  int before = 0;
  Scan(tmp.scan).ExclusiveSum(sel, before);
  long long at = offset[b] + before;
  for (int j = 0; j < tile_items; ++j) {
    if (!take[j]) continue;
    if (at < cap) {
      idx[at] = static_cast<int32_t>(base + threadIdx.x * tile_items + j);
      val[at] = v[j];
    }
    ++at;
  }
}

}  // namespace

void kth_magnitude(const OpCall& c) {
  const Op op(c);
  const float* x = static_cast<const float*>(c.in[0]->data());
  const int64_t n = c.in[0]->numel(), k = c.param<SelectParams>().k;
  const Scratch state(op, sizeof(SelectState)), hist(op, 4 * 256 * sizeof(unsigned long long));
  select_init<<<1, 256, 0, op.s()>>>(state.as<SelectState>(), hist.as<unsigned long long>(),
                                     static_cast<unsigned long long>(k));
  op.launched("kth_magnitude init");
  for (int pass = 0; pass < 4; ++pass) {
    const int shift = 24 - 8 * pass;
    unsigned long long* h = hist.as<unsigned long long>() + 256 * pass;
    select_histogram<<<op.grid(n), block_threads, 0, op.s()>>>(x, n, shift, state.as<SelectState>(), h);
    op.launched("kth_magnitude histogram");
    select_pick<<<1, 1, 0, op.s()>>>(shift, state.as<SelectState>(), h, static_cast<float*>(c.out[0]->data()));
    op.launched("kth_magnitude pick");
  }
}
TANDEM_KERNEL(cuda_kernels, kth_magnitude, kth_magnitude);

void compact(const OpCall& c) {
  const Op op(c);
  const Tensor &x = *c.in[0], &t = *c.in[1], &idx = *c.out[0], &val = *c.out[1], &count = *c.out[2];
  const int64_t n = x.numel(), tiles = (n + tile - 1) / tile;
  const auto* xs = static_cast<const float*>(x.data());
  const auto* ts = static_cast<const float*>(t.data());
  const Scratch greater(op, tiles * sizeof(int32_t)), equal(op, tiles * sizeof(int32_t)),
      ties(op, tiles * sizeof(long long)), offset(op, tiles * sizeof(long long));
  if (tiles > 0) {
    compact_count<<<static_cast<unsigned>(tiles), tile_threads, 0, op.s()>>>(xs, n, ts, greater.as<int32_t>(),
                                                                             equal.as<int32_t>());
    op.launched("compact count");
  }
  compact_plan<<<1, plan_threads, 0, op.s()>>>(tiles, greater.as<int32_t>(), equal.as<int32_t>(),
                                               c.param<CompactParams>().limit, ties.as<long long>(),
                                               offset.as<long long>(), static_cast<int32_t*>(count.data()));
  op.launched("compact plan");
  if (tiles == 0 || idx.numel() == 0) return;
  compact_write<<<static_cast<unsigned>(tiles), tile_threads, 0, op.s()>>>(
      xs, n, ts, greater.as<int32_t>(), ties.as<long long>(), offset.as<long long>(), static_cast<int32_t*>(idx.data()),
      static_cast<float*>(val.data()), idx.numel());
  op.launched("compact write");
}
TANDEM_KERNEL(cuda_kernels, compact, compact);

}  // namespace tandem::cuda
