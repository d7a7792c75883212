// Sparse codec primitives: stratified sampling, k-th magnitude (radix select), compaction by
// threshold, scatter-add, random fill. Exact: the same selections, and where values are
// computed, the same float operations as the CPU (tandem/numeric/philox.h in common.cl).

// Stratum j = [⌊jn/k⌋, ⌊(j+1)n/k⌋) gives the element start + ⌊random_u32(key, j) · size / 2³²⌋.
kernel void sample_f32(IN(float, x), OUT(int, idx), OUT(float, val), const long n, const long k, const int scaled,
                       KEY) {
  const long j = get_global_id(0);
  if (j >= k) return;
  const long start = j * n / k, size = (j + 1) * n / k - start;
  const long i = start + (long)(((ulong)random_u32(seed, step, rank, offset, j) * (ulong)size) >> 32);
  VIEW(idx)[j] = (int)i;
  VIEW(val)[j] = scaled ? VIEW(x)[i] * (float)size : VIEW(x)[i];
}

// One work-item per Philox block (four elements), as the CPU draws them.
kernel void random_fill_f32(OUT(float, y), const ulong n, const float lo, const float hi, KEY) {
  const ulong block = (offset >> 2) + get_global_id(0);
  const uint4 w = random_block(seed, step, rank, block);
  const uint words[4] = {w.x, w.y, w.z, w.w};
  for (int k = 0; k < 4; ++k) {
    const ulong p = block * 4 + k;  // element p − offset
    if (p >= offset && p - offset < n) VIEW(y)[p - offset] = lo + (hi - lo) * uniform_from(words[k]);
  }
}

// y[idx[j]] += val[j], each work-item over `per` consecutive j in order. The host makes per 1
// only for strictly increasing indices; repeated ones sum in one work-item, in the CPU's order.
// Indices were checked on the host.
kernel void scatter_add_f32(IN(int, idx), IN(float, val), OUT(float, y), const ulong m, const ulong per) {
  const ulong first = get_global_id(0) * per, last = min(m, first + per);
  for (ulong j = first; j < last; ++j) VIEW(y)[VIEW(idx)[j]] += VIEW(val)[j];
}

// kth_magnitude by radix select over 32-bit keys that order like the CPU's magnitudes: NaN
// (ranked below every number) is 0, |x| is its bits + 1. Four passes of 8 bits, each a histogram
// of the keys that match the bits found so far, then one work-item picking the bin that holds
// the k-th largest. state: [0] the bits found, [1] their mask, [2] the rank left within them.
uint magnitude_key(float v) { return isnan(v) ? 0u : as_uint(fabs(v)) + 1u; }

kernel void kth_init(OUT(uint, state), OUT(uint, hist), const uint k) {
  const size_t i = get_global_id(0);
  if (i < 256) VIEW(hist)[i] = 0;
  if (i < 3) VIEW(state)[i] = i == 2 ? k : 0;
}

#define KTH_WG 64
kernel void kth_histogram(IN(float, x), const ulong n, IN(uint, state), OUT(uint, hist), const int shift) {
  local uint h[256];
  const size_t l = get_local_id(0);
  for (size_t b = l; b < 256; b += KTH_WG) h[b] = 0;
  barrier(CLK_LOCAL_MEM_FENCE);
  const uint bits = VIEW(state)[0], mask = VIEW(state)[1];
  global const float *xs = VIEW(x);
  for (size_t i = get_global_id(0); i < n; i += get_global_size(0)) {
    const uint key = magnitude_key(xs[i]);
    if ((key & mask) == bits) atomic_inc(&h[(key >> shift) & 255]);
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  for (size_t b = l; b < 256; b += KTH_WG)
    if (h[b] != 0) atomic_add(&VIEW(hist)[b], h[b]);
}

// Zeroes the histogram for the next pass; after the last, t = the value of the key found.
kernel void kth_pick(OUT(uint, state), OUT(uint, hist), OUT(float, t), const int shift) {
  if (get_global_id(0) != 0) return;
  global uint *s = VIEW(state), *h = VIEW(hist);
  uint k = s[2], b = 255;
  while (b > 0 && h[b] < k) k -= h[b--];
  s[0] |= b << shift;
  s[1] |= 255u << shift;
  s[2] = k;
  for (int i = 0; i < 256; ++i) h[i] = 0;
  if (shift == 0) VIEW(t)[0] = s[0] == 0 ? 0.0f : as_float(s[0] - 1u);
}

// compact in three launches over blocks of COMPACT_BLOCK elements, as the CPU does it: count
// per block, then one work-item turns the counts into output offsets and tie quotas, then each
// block writes its selections in index order.
#define COMPACT_BLOCK 1024
kernel void compact_count(IN(float, x), IN(float, t), OUT(uint, greater), OUT(uint, equal), const ulong n) {
  const ulong b = get_global_id(0), first = b * COMPACT_BLOCK, last = min(n, first + COMPACT_BLOCK);
  if (first >= n) return;
  global const float *xs = VIEW(x);
  const float th = VIEW(t)[0];
  uint g = 0, e = 0;
  for (ulong i = first; i < last; ++i) {
    const float m = fabs(xs[i]);
    g += m > th ? 1 : 0;
    e += m == th ? 1 : 0;
  }
  VIEW(greater)[b] = g;
  VIEW(equal)[b] = e;
}

// Ties go, in index order, to whichever blocks come first while the budget lasts. Replaces
// greater with each block's offset and equal with its ties.
kernel void compact_offsets(OUT(uint, greater), OUT(uint, equal), OUT(int, count), const ulong blocks,
                            const long limit) {
  if (get_global_id(0) != 0) return;
  global uint *g = VIEW(greater), *e = VIEW(equal);
  long total_greater = 0;
  for (ulong b = 0; b < blocks; ++b) total_greater += g[b];
  long budget = max(0L, limit - total_greater);
  uint selected = 0;
  for (ulong b = 0; b < blocks; ++b) {
    const uint ties = (uint)min((long)e[b], budget), here = g[b] + ties;
    budget -= ties;
    g[b] = selected;
    e[b] = ties;
    selected += here;
  }
  VIEW(count)[0] = (int)selected;
}

kernel void compact_write(IN(float, x), IN(float, t), IN(uint, offsets), IN(uint, ties), OUT(int, idx),
                          OUT(float, val), const ulong n, const ulong cap) {
  const ulong b = get_global_id(0), first = b * COMPACT_BLOCK, last = min(n, first + COMPACT_BLOCK);
  if (first >= n) return;
  global const float *xs = VIEW(x);
  const float th = VIEW(t)[0];
  ulong at = VIEW(offsets)[b];
  uint ties_left = VIEW(ties)[b];
  for (ulong i = first; i < last && at < cap; ++i) {
    const float m = fabs(xs[i]);
    if (m > th || (m == th && ties_left > 0)) {
      ties_left -= m > th ? 0 : 1;
      VIEW(idx)[at] = (int)i;
      VIEW(val)[at] = xs[i];
      ++at;
    }
  }
}
