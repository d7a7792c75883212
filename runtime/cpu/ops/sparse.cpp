// Sparse codec primitives on the CPU: stratified sampling, k-th magnitude (nth_element),
// two-pass block compaction (count, then write at the block's prefix offset), scatter-add,
// random fill.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../kernels.h"

namespace tandem::cpu {

void sample(const OpCall& call) {
  const auto& p = call.param<SampleParams>();
  const float* x = static_cast<const float*>(call.in[0]->data());
  int32_t* idx = static_cast<int32_t*>(call.out[0]->data());
  float* val = static_cast<float*>(call.out[1]->data());
  const int64_t n = call.in[0]->numel(), k = call.out[0]->numel();
  parallel_for(k, k, [&](int64_t j) {
    const int64_t start = j * n / k, size = (j + 1) * n / k - start;
    const uint64_t pick = (uint64_t{numeric::random_u32(p.key, static_cast<uint64_t>(j))} * uint64_t(size)) >> 32;
    const int64_t i = start + static_cast<int64_t>(pick);
    idx[j] = static_cast<int32_t>(i);
    val[j] = p.scaled ? x[i] * static_cast<float>(size) : x[i];
  });
}
TANDEM_KERNEL(cpu_kernels, sample, sample);

namespace {

// |x| with NaN ranked below every number, so it is never the threshold unless k reaches it.
inline float magnitude(float v) { return std::isnan(v) ? -1.0f : std::fabs(v); }

// The k-th largest of the candidates, by nth_element.
float kth_of(std::vector<float>& c, int64_t k) {
  std::nth_element(c.begin(), c.begin() + (k - 1), c.end(), std::greater<float>());
  return std::max(c[static_cast<size_t>(k - 1)], 0.0f);
}

}  // namespace

// Exact, without sorting all n magnitudes: a strided sample brackets the k-th value from below
// (with a margin of several standard deviations), one pass counts and gathers the magnitudes
// at or above the bracket, and nth_element runs on those few. If the bracket misses (fewer than
// k above it) or catches too many, it falls back to nth_element on everything.
void kth_magnitude(const OpCall& call) {
  const float* x = static_cast<const float*>(call.in[0]->data());
  const int64_t n = call.in[0]->numel(), k = call.param<SelectParams>().k;
  float& out = *static_cast<float*>(call.out[0]->data());
  auto everything = [&] {
    std::vector<float> mag(static_cast<size_t>(n));
    for_blocks(n, [&](int64_t first, int64_t count) {
      for (int64_t i = first; i < first + count; ++i) mag[i] = magnitude(x[i]);
    });
    out = kth_of(mag, k);
  };
  constexpr int64_t samples = 1 << 16;
  if (n < 16 * samples || k > n / 8) return everything();
  std::vector<float> s(samples);
  for (int64_t j = 0; j < samples; ++j) s[j] = magnitude(x[j * n / samples]);
  std::sort(s.begin(), s.end(), std::greater<float>());
  const double rank = static_cast<double>(k) * samples / static_cast<double>(n);
  const auto at = std::min<int64_t>(samples - 1, static_cast<int64_t>(rank + 6 * std::sqrt(rank) + 64));
  const float bracket = s[at];
  constexpr int64_t block = 1 << 16;
  const int64_t blocks = (n + block - 1) / block;
  std::vector<std::vector<float>> found(static_cast<size_t>(blocks));
  parallel_for(blocks, n, [&](int64_t b) {
    for (int64_t i = b * block; i < std::min(n, (b + 1) * block); ++i)
      if (const float m = magnitude(x[i]); m >= bracket) found[b].push_back(m);
  });
  std::vector<float> candidates;
  for (const auto& f : found) candidates.insert(candidates.end(), f.begin(), f.end());
  if (static_cast<int64_t>(candidates.size()) < k || static_cast<int64_t>(candidates.size()) > 8 * k + (1 << 20))
    return everything();
  out = kth_of(candidates, k);
}
TANDEM_KERNEL(cpu_kernels, kth_magnitude, kth_magnitude);

void compact(const OpCall& call) {
  const float* x = static_cast<const float*>(call.in[0]->data());
  const float t = *static_cast<const float*>(call.in[1]->data());
  int32_t* idx = static_cast<int32_t*>(call.out[0]->data());
  float* val = static_cast<float*>(call.out[1]->data());
  const int64_t n = call.in[0]->numel(), cap = call.out[0]->numel();
  const int64_t limit = call.param<CompactParams>().limit;
  constexpr int64_t block = 1 << 16;
  const int64_t blocks = (n + block - 1) / block;
  std::vector<int64_t> greater(static_cast<size_t>(blocks)), equal(static_cast<size_t>(blocks));
  parallel_for(blocks, n, [&](int64_t b) {
    int32_t g = 0, e = 0;  // a block's counts fit 32 bits, which keeps the loop vectorized
    for (int64_t i = b * block; i < std::min(n, (b + 1) * block); ++i) {
      const float m = std::fabs(x[i]);
      g += m > t ? 1 : 0;
      e += m == t ? 1 : 0;
    }
    greater[b] = g;
    equal[b] = e;
  });
  int64_t total_greater = 0;
  for (int64_t g : greater) total_greater += g;
  // Ties go, in index order, to whichever blocks come first while the budget lasts.
  int64_t tie_budget = std::max<int64_t>(0, limit - total_greater);
  std::vector<int64_t> ties(static_cast<size_t>(blocks)), offset(static_cast<size_t>(blocks));
  int64_t selected = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    ties[b] = std::min(equal[b], tie_budget);
    tie_budget -= ties[b];
    offset[b] = selected;
    selected += greater[b] + ties[b];
  }
  parallel_for(blocks, n, [&](int64_t b) {
    int64_t at = offset[b], ties_left = ties[b];
    const int64_t end = std::min(n, (b + 1) * block);
    for (int64_t first = b * block; first < end && at < cap; first += 16) {
      // Selections are rare: test 16 elements at once (vectorized), then look closer.
      const int64_t last = std::min(end, first + 16);
      int any = 0;
      for (int64_t i = first; i < last; ++i) any |= std::fabs(x[i]) >= t ? 1 : 0;
      if (!any) continue;
      for (int64_t i = first; i < last && at < cap; ++i) {
        const float m = std::fabs(x[i]);
        if (m > t || (m == t && ties_left-- > 0)) {
          idx[at] = static_cast<int32_t>(i);
          val[at] = x[i];
          ++at;
        }
      }
    }
  });
  *static_cast<int32_t*>(call.out[2]->data()) = static_cast<int32_t>(selected);
}
TANDEM_KERNEL(cpu_kernels, compact, compact);

void scatter_add(const OpCall& call) {
  const int32_t* idx = static_cast<const int32_t*>(call.in[0]->data());
  const float* val = static_cast<const float*>(call.in[1]->data());
  float* y = static_cast<float*>(call.out[0]->data());
  const int64_t m = call.in[0]->numel();
  check_indices(call, scatter_index_range(call), idx, m);  // all of them before anything is added
  // Sequential: indices may repeat, and the payloads this decodes are small next to y.
  for (int64_t j = 0; j < m; ++j) y[idx[j]] += val[j];
}
TANDEM_KERNEL(cpu_kernels, scatter_add, scatter_add);

void random_fill(const OpCall& call) {
  const auto& p = call.param<RandomFillParams>();
  float* y = static_cast<float*>(call.out[0]->data());
  for_blocks(call.out[0]->numel(), [&](int64_t first, int64_t count) {
    numeric::RandomWords words(p.key);
    for (int64_t i = first; i < first + count; ++i)
      y[i] = p.lo + (p.hi - p.lo) * numeric::uniform_from(words(static_cast<uint64_t>(i)));
  });
}
TANDEM_KERNEL(cpu_kernels, random_fill, random_fill);

}  // namespace tandem::cpu
