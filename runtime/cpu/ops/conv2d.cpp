// conv2d by im2col + sgemm, one image per OpenMP thread: each image's column matrix stays in
// that core's cache, and the output of its GEMM is already in NCHW order (no transpose). Grouped
// convolutions run one im2col + GEMM per group; depthwise ones (one input channel per group) a
// direct loop per plane instead, whose rows vectorize. Dilation spreads the taps: tap (r, s)
// reads input row p·sh − ph + r·dh and column q·sw − pw + s·dw.
// OpenBLAS runs single-threaded inside the parallel region (it checks omp_in_parallel).
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "../kernels.h"

namespace tandem::cpu {
namespace {

// c and k are one group's input channels and filters (w's dimensions 1 and 0 over groups).
struct Geometry {
  int64_t n, c, h, w, k, r, s, p, q;
  int sh, sw, ph, pw, dh, dw;
  int64_t groups;
  int64_t crs() const { return c * r * s; }
  int64_t pq() const { return p * q; }
  int64_t plane() const { return h * w; }
  int64_t image() const { return groups * c * plane(); }   // x elements per image
  int64_t out_image() const { return groups * k * pq(); }  // y elements per image
  int64_t filters() const { return groups * k; }
  bool depthwise() const { return groups > 1 && c == 1; }
};

Geometry geometry(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dParams& prm) {
  const int64_t groups = prm.groups;
  return {x.shape()[0], x.shape()[1] / groups, x.shape()[2],   x.shape()[3], w.shape()[0] / groups, w.shape()[2],
          w.shape()[3], y.shape()[2],          y.shape()[3],   prm.stride_h, prm.stride_w,          prm.pad_h,
          prm.pad_w,    prm.dilation_h,        prm.dilation_w, groups};
}

// Output columns q whose input column q·sw + off lies inside [0, w): [lo, hi). off = s·dw − pw.
void valid_q(const Geometry& g, int64_t off, int64_t& lo, int64_t& hi) {
  lo = std::min<int64_t>(g.q, off >= 0 ? 0 : (-off + g.sw - 1) / g.sw);
  hi = off >= g.w ? 0 : std::min<int64_t>(g.q, (g.w - 1 - off) / g.sw + 1);
  hi = std::max(hi, lo);
}

// Stride 1 with the output as wide as the input ("same" width): consecutive output rows read
// consecutive input rows, so a whole im2col row maps onto one contiguous run of the input
// plane, shifted by `shift`. Output rows [p_lo, p_hi) and columns [lo, hi) are the valid ones.
struct SameWidthRow {
  int64_t lo, hi, p_lo, p_hi, first, last, shift;
  bool empty() const { return lo >= hi || p_lo >= p_hi; }
};

SameWidthRow same_width_row(const Geometry& g, int64_t r, int64_t s) {
  SameWidthRow w{};
  const int64_t row_off = r * g.dh - g.ph, col_off = s * g.dw - g.pw;
  valid_q(g, col_off, w.lo, w.hi);
  w.p_lo = std::clamp<int64_t>(-row_off, 0, g.p);
  w.p_hi = std::clamp<int64_t>(g.h - row_off, w.p_lo, g.p);
  w.first = w.p_lo * g.q + w.lo;
  w.last = (w.p_hi - 1) * g.q + w.hi;
  w.shift = row_off * g.w + col_off;  // input index − output index
  return w;
}

// Zeroes the positions of a row that lie outside the image (those inside [first, last) that a
// contiguous copy would fill from a neighbouring input row, and the rows outside [p_lo, p_hi)).
void zero_outside(const Geometry& g, const SameWidthRow& w, float* row) {
  std::fill(row, row + w.p_lo * g.q, 0.0f);
  std::fill(row + w.p_hi * g.q, row + g.pq(), 0.0f);
  for (int64_t p = w.p_lo; p < w.p_hi; ++p) {
    std::fill(row + p * g.q, row + p * g.q + w.lo, 0.0f);
    std::fill(row + p * g.q + w.hi, row + (p + 1) * g.q, 0.0f);
  }
}

void im2col_row_same_width(const Geometry& g, const float* plane, int64_t r, int64_t s, float* row) {
  const SameWidthRow w = same_width_row(g, r, s);
  if (w.empty()) {
    std::fill(row, row + g.pq(), 0.0f);
    return;
  }
  std::copy(plane + (w.first + w.shift), plane + (w.last + w.shift), row + w.first);
  zero_outside(g, w, row);
}

// The adjoint: zero what lies outside the image in the (scratch) row, then add one run.
void col2im_row_same_width(const Geometry& g, float* row, int64_t r, int64_t s, float* plane) {
  const SameWidthRow w = same_width_row(g, r, s);
  if (w.empty()) return;
  zero_outside(g, w, row);
  float* out = plane + (w.first + w.shift);
  const float* in = row + w.first;
#pragma omp simd
  for (int64_t i = 0; i < w.last - w.first; ++i) out[i] += in[i];
}

bool same_width(const Geometry& g) { return g.sh == 1 && g.sw == 1 && g.q == g.w; }

// col[(c·R + r)·S + s][p·Q + q] = x[c][p·sh − ph + r·dh][q·sw − pw + s·dw], zero outside the
// image, for the g.c channels of one group starting at x.
void im2col(const Geometry& g, const float* x, float* col) {
  const bool contiguous = same_width(g);
  for (int64_t c = 0; c < g.c; ++c)
    for (int64_t r = 0; r < g.r; ++r)
      for (int64_t s = 0; s < g.s; ++s) {
        float* row = col + ((c * g.r + r) * g.s + s) * g.pq();
        if (contiguous) {
          im2col_row_same_width(g, x + c * g.plane(), r, s, row);
          continue;
        }
        const int64_t off = s * g.dw - g.pw;  // input column of q: q·sw + off
        int64_t lo, hi;
        valid_q(g, off, lo, hi);
        for (int64_t p = 0; p < g.p; ++p) {
          float* out = row + p * g.q;
          const int64_t ih = p * g.sh - g.ph + r * g.dh;
          if (ih < 0 || ih >= g.h) {
            std::fill(out, out + g.q, 0.0f);
            continue;
          }
          const float* in = x + (c * g.h + ih) * g.w;
          std::fill(out, out + lo, 0.0f);
          if (g.sw == 1) {
            std::copy(in + (lo + off), in + (hi + off), out + lo);
          } else {
            for (int64_t q = lo; q < hi; ++q) out[q] = in[q * g.sw + off];
          }
          std::fill(out + hi, out + g.q, 0.0f);
        }
      }
}

// The adjoint of im2col: dx[c][ih][iw] += col[...] for every position that read it, for the g.c
// channels of one group starting at dx (zeroed first). col is scratch: the same-width path
// zeroes parts of it.
void col2im(const Geometry& g, float* col, float* dx) {
  const bool contiguous = same_width(g);
  std::fill(dx, dx + g.c * g.plane(), 0.0f);
  for (int64_t c = 0; c < g.c; ++c)
    for (int64_t r = 0; r < g.r; ++r)
      for (int64_t s = 0; s < g.s; ++s) {
        float* row = col + ((c * g.r + r) * g.s + s) * g.pq();
        if (contiguous) {
          col2im_row_same_width(g, row, r, s, dx + c * g.plane());
          continue;
        }
        const int64_t off = s * g.dw - g.pw;
        int64_t lo, hi;
        valid_q(g, off, lo, hi);
        for (int64_t p = 0; p < g.p; ++p) {
          const int64_t ih = p * g.sh - g.ph + r * g.dh;
          if (ih < 0 || ih >= g.h) continue;
          float* out = dx + (c * g.h + ih) * g.w;
          const float* in = row + p * g.q;
          for (int64_t q = lo; q < hi; ++q) out[q * g.sw + off] += in[q];
        }
      }
}

// Threads for a loop over n images: no more threads than images.
int threads_for(int64_t n) { return static_cast<int>(std::clamp<int64_t>(n, 1, omp_get_max_threads())); }

// Depthwise (one input channel per group, g.k filters each): the output plane of filter f is
// Σ over taps (r, s) of w[f][r][s] times the input plane of channel f / k, shifted — added tap
// by tap, row by row, so the inner loop runs along a row (contiguous at stride 1). Visits
// f(in_at, out_at, lo, hi) for each output row p that the tap (r, s) reads inside the image:
// output column q ∈ [lo, hi) at out_at + q reads input in_at + q·sw of the plane.
template <class F>
void depthwise_rows(const Geometry& g, int64_t r, int64_t s, F f) {
  const int64_t off = s * g.dw - g.pw;
  int64_t lo, hi;
  valid_q(g, off, lo, hi);
  if (lo >= hi) return;
  for (int64_t p = 0; p < g.p; ++p) {
    const int64_t ih = p * g.sh - g.ph + r * g.dh;
    if (ih >= 0 && ih < g.h) f(ih * g.w + off, p * g.q, lo, hi);
  }
}

void depthwise_forward(const Geometry& g, const float* x, const float* w, float* y) {
  const int64_t planes = g.n * g.filters();
  parallel_for(planes, planes * g.pq() * g.r * g.s, [&](int64_t plane) {
    const int64_t n = plane / g.filters(), f = plane % g.filters();
    const float* in = x + (n * g.groups + f / g.k) * g.plane();
    const float* wf = w + f * g.r * g.s;
    float* out = y + plane * g.pq();
    std::fill(out, out + g.pq(), 0.0f);
    for (int64_t r = 0; r < g.r; ++r)
      for (int64_t s = 0; s < g.s; ++s) {
        const float wv = wf[r * g.s + s];
        depthwise_rows(g, r, s, [&](int64_t in_at, int64_t out_at, int64_t lo, int64_t hi) {
          float* o = out + out_at;  // the input of output column q is in[in_at + q·sw]
          if (g.sw == 1) {
#pragma omp simd
            for (int64_t q = lo; q < hi; ++q) o[q] += wv * in[in_at + q];
          } else {
            for (int64_t q = lo; q < hi; ++q) o[q] += wv * in[in_at + q * g.sw];
          }
        });
      }
  });
}

// dx plane of channel c: Σ over its k filters and their taps of the tap weight times dy, scattered
// back along the rows it was read from.
void depthwise_backward_data(const Geometry& g, const float* dy, const float* w, float* dx) {
  const int64_t planes = g.n * g.groups;
  parallel_for(planes, g.n * g.filters() * g.pq() * g.r * g.s, [&](int64_t plane) {
    const int64_t n = plane / g.groups, c = plane % g.groups;
    float* out = dx + plane * g.plane();
    std::fill(out, out + g.plane(), 0.0f);
    for (int64_t f = c * g.k; f < (c + 1) * g.k; ++f) {
      const float* gy = dy + (n * g.filters() + f) * g.pq();
      const float* wf = w + f * g.r * g.s;
      for (int64_t r = 0; r < g.r; ++r)
        for (int64_t s = 0; s < g.s; ++s) {
          const float wv = wf[r * g.s + s];
          depthwise_rows(g, r, s, [&](int64_t in_at, int64_t out_at, int64_t lo, int64_t hi) {
            const float* d = gy + out_at;
            if (g.sw == 1) {
#pragma omp simd
              for (int64_t q = lo; q < hi; ++q) out[in_at + q] += wv * d[q];
            } else {
              for (int64_t q = lo; q < hi; ++q) out[in_at + q * g.sw] += wv * d[q];
            }
          });
        }
    }
  });
}

// dw[f][r][s] = Σ over images and output positions of dy[f] times the input tap: per filter, each
// row's dot product in float, the rows summed in double.
void depthwise_backward_weights(const Geometry& g, const float* x, const float* dy, float* dw) {
  const int64_t taps = g.r * g.s;
  parallel_for(g.filters(), g.n * g.filters() * g.pq() * taps, [&](int64_t f) {
    std::vector<double> acc(static_cast<size_t>(taps), 0.0);
    for (int64_t n = 0; n < g.n; ++n) {
      const float* in = x + (n * g.groups + f / g.k) * g.plane();
      const float* gy = dy + (n * g.filters() + f) * g.pq();
      for (int64_t r = 0; r < g.r; ++r)
        for (int64_t s = 0; s < g.s; ++s) {
          double& sum = acc[static_cast<size_t>(r * g.s + s)];
          depthwise_rows(g, r, s, [&](int64_t in_at, int64_t out_at, int64_t lo, int64_t hi) {
            const float* d = gy + out_at;
            float part = 0;
            if (g.sw == 1) {
#pragma omp simd reduction(+ : part)
              for (int64_t q = lo; q < hi; ++q) part += d[q] * in[in_at + q];
            } else {
              for (int64_t q = lo; q < hi; ++q) part += d[q] * in[in_at + q * g.sw];
            }
            sum += part;
          });
        }
    }
    for (int64_t t = 0; t < taps; ++t) dw[f * taps + t] = static_cast<float>(acc[static_cast<size_t>(t)]);
  });
}

}  // namespace

void conv2d_forward(const OpCall& call) {
  const Tensor &x = *call.in[0], &w = *call.in[1], &y = *call.out[0];
  const Geometry g = geometry(x, w, y, call.param<Conv2dParams>());
  const float* xs = static_cast<const float*>(x.data());
  const float* ws = static_cast<const float*>(w.data());
  float* ys = static_cast<float*>(y.data());
  if (g.depthwise()) return depthwise_forward(g, xs, ws, ys);
#pragma omp parallel num_threads(threads_for(g.n))
  {
    std::vector<float> col(static_cast<size_t>(g.crs() * g.pq()));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        im2col(g, xs + n * g.image() + grp * g.c * g.plane(), col.data());
        // y_n,grp[K][PQ] = w_grp[K][CRS] · col[CRS][PQ]
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(g.k), static_cast<int>(g.pq()),
                    static_cast<int>(g.crs()), 1.0f, ws + grp * g.k * g.crs(), static_cast<int>(g.crs()), col.data(),
                    static_cast<int>(g.pq()), 0.0f, ys + n * g.out_image() + grp * g.k * g.pq(),
                    static_cast<int>(g.pq()));
      }
  }
}
TANDEM_KERNEL(cpu_kernels, conv2d_forward, conv2d_forward);

void conv2d_backward_data(const OpCall& call) {
  const Tensor &dy = *call.in[0], &w = *call.in[1], &dx = *call.out[0];
  const Geometry g = geometry(dx, w, dy, call.param<Conv2dParams>());
  const float* dys = static_cast<const float*>(dy.data());
  const float* ws = static_cast<const float*>(w.data());
  float* dxs = static_cast<float*>(dx.data());
  if (g.depthwise()) return depthwise_backward_data(g, dys, ws, dxs);
#pragma omp parallel num_threads(threads_for(g.n))
  {
    std::vector<float> col(static_cast<size_t>(g.crs() * g.pq()));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        // dcol[CRS][PQ] = w_grpᵀ[CRS][K] · dy_n,grp[K][PQ]
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(g.crs()), static_cast<int>(g.pq()),
                    static_cast<int>(g.k), 1.0f, ws + grp * g.k * g.crs(), static_cast<int>(g.crs()),
                    dys + n * g.out_image() + grp * g.k * g.pq(), static_cast<int>(g.pq()), 0.0f, col.data(),
                    static_cast<int>(g.pq()));
        col2im(g, col.data(), dxs + n * g.image() + grp * g.c * g.plane());
      }
  }
}
TANDEM_KERNEL(cpu_kernels, conv2d_backward_data, conv2d_backward_data);

void conv2d_backward_weights(const OpCall& call) {
  const Tensor &x = *call.in[0], &dy = *call.in[1], &dw = *call.out[0];
  const Geometry g = geometry(x, dw, dy, call.param<Conv2dParams>());
  const float* xs = static_cast<const float*>(x.data());
  const float* dys = static_cast<const float*>(dy.data());
  float* dws = static_cast<float*>(dw.data());
  if (g.depthwise()) return depthwise_backward_weights(g, xs, dys, dws);
  const int64_t wsize = g.groups * g.k * g.crs();
  const int nt = threads_for(g.n);
  // Each thread sums its images' contributions into its own partial; partials are added after.
  std::vector<float> partial(static_cast<size_t>(nt * wsize), 0.0f);
#pragma omp parallel num_threads(nt)
  {
    std::vector<float> col(static_cast<size_t>(g.crs() * g.pq()));
    float* mine = partial.data() + omp_get_thread_num() * wsize;
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        im2col(g, xs + n * g.image() + grp * g.c * g.plane(), col.data());
        // dw_grp[K][CRS] += dy_n,grp[K][PQ] · colᵀ[PQ][CRS]
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(g.k), static_cast<int>(g.crs()),
                    static_cast<int>(g.pq()), 1.0f, dys + n * g.out_image() + grp * g.k * g.pq(),
                    static_cast<int>(g.pq()), col.data(), static_cast<int>(g.pq()), 1.0f, mine + grp * g.k * g.crs(),
                    static_cast<int>(g.crs()));
      }
  }
  std::copy(partial.begin(), partial.begin() + wsize, dws);
  for (int t = 1; t < nt; ++t)
    for (int64_t i = 0; i < wsize; ++i) dws[i] += partial[static_cast<size_t>(t * wsize + i)];
}
TANDEM_KERNEL(cpu_kernels, conv2d_backward_weights, conv2d_backward_weights);

}  // namespace tandem::cpu
