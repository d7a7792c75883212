// conv2d by im2col + sgemm, one image per OpenMP thread: each image's column matrix stays in
// that core's cache, and the output of its GEMM is already in NCHW order (no transpose).
// OpenBLAS runs single-threaded inside the parallel region (it checks omp_in_parallel).
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "../kernels.h"

namespace tandem::cpu {
namespace {

struct Geometry {
  int64_t n, c, h, w, k, r, s, p, q;
  int sh, sw, ph, pw;
  int64_t crs() const { return c * r * s; }
  int64_t pq() const { return p * q; }
};

Geometry geometry(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dParams& prm) {
  return {x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3], w.shape()[0], w.shape()[2], w.shape()[3],
          y.shape()[2], y.shape()[3], prm.stride_h, prm.stride_w, prm.pad_h,    prm.pad_w};
}

// Output columns q whose input column q·sw − pw + s lies inside [0, w): [lo, hi).
void valid_q(const Geometry& g, int64_t s, int64_t& lo, int64_t& hi) {
  const int64_t off = s - g.pw;
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
  valid_q(g, s, w.lo, w.hi);
  w.p_lo = std::clamp<int64_t>(g.ph - r, 0, g.p);
  w.p_hi = std::clamp<int64_t>(g.h + g.ph - r, w.p_lo, g.p);
  w.first = w.p_lo * g.q + w.lo;
  w.last = (w.p_hi - 1) * g.q + w.hi;
  w.shift = (r - g.ph) * g.w + (s - g.pw);  // input index − output index
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

// col[(c·R + r)·S + s][p·Q + q] = x[c][p·sh − ph + r][q·sw − pw + s], zero outside the image.
void im2col(const Geometry& g, const float* x, float* col) {
  const bool same_width = g.sh == 1 && g.sw == 1 && g.q == g.w;
  for (int64_t c = 0; c < g.c; ++c)
    for (int64_t r = 0; r < g.r; ++r)
      for (int64_t s = 0; s < g.s; ++s) {
        float* row = col + ((c * g.r + r) * g.s + s) * g.pq();
        if (same_width) {
          im2col_row_same_width(g, x + c * g.h * g.w, r, s, row);
          continue;
        }
        int64_t lo, hi;
        valid_q(g, s, lo, hi);
        for (int64_t p = 0; p < g.p; ++p) {
          float* out = row + p * g.q;
          const int64_t ih = p * g.sh - g.ph + r;
          if (ih < 0 || ih >= g.h) {
            std::fill(out, out + g.q, 0.0f);
            continue;
          }
          const float* in = x + (c * g.h + ih) * g.w;  // input column of q: q·sw + s − pw
          const int64_t off = s - g.pw;
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

// The adjoint of im2col: dx[c][ih][iw] += col[...] for every position that read it.
// col is scratch: the same-width path zeroes parts of it.
void col2im(const Geometry& g, float* col, float* dx) {
  const bool same_width = g.sh == 1 && g.sw == 1 && g.q == g.w;
  std::fill(dx, dx + g.c * g.h * g.w, 0.0f);
  for (int64_t c = 0; c < g.c; ++c)
    for (int64_t r = 0; r < g.r; ++r)
      for (int64_t s = 0; s < g.s; ++s) {
        float* row = col + ((c * g.r + r) * g.s + s) * g.pq();
        if (same_width) {
          col2im_row_same_width(g, row, r, s, dx + c * g.h * g.w);
          continue;
        }
        int64_t lo, hi;
        valid_q(g, s, lo, hi);
        for (int64_t p = 0; p < g.p; ++p) {
          const int64_t ih = p * g.sh - g.ph + r;
          if (ih < 0 || ih >= g.h) continue;
          float* out = dx + (c * g.h + ih) * g.w;
          const float* in = row + p * g.q;
          const int64_t off = s - g.pw;
          for (int64_t q = lo; q < hi; ++q) out[q * g.sw + off] += in[q];
        }
      }
}

// Threads for a loop over n images: no more threads than images.
int threads_for(int64_t n) { return static_cast<int>(std::clamp<int64_t>(n, 1, omp_get_max_threads())); }

}  // namespace

void conv2d_forward(const OpCall& call) {
  const Tensor &x = *call.in[0], &w = *call.in[1], &y = *call.out[0];
  const Geometry g = geometry(x, w, y, call.param<Conv2dParams>());
  const float* xs = static_cast<const float*>(x.data());
  const float* ws = static_cast<const float*>(w.data());
  float* ys = static_cast<float*>(y.data());
#pragma omp parallel num_threads(threads_for(g.n))
  {
    std::vector<float> col(static_cast<size_t>(g.crs() * g.pq()));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.n; ++n) {
      im2col(g, xs + n * g.c * g.h * g.w, col.data());
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(g.k), static_cast<int>(g.pq()),
                  static_cast<int>(g.crs()), 1.0f, ws, static_cast<int>(g.crs()), col.data(), static_cast<int>(g.pq()),
                  0.0f, ys + n * g.k * g.pq(), static_cast<int>(g.pq()));
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
#pragma omp parallel num_threads(threads_for(g.n))
  {
    std::vector<float> col(static_cast<size_t>(g.crs() * g.pq()));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.n; ++n) {
      // dcol[CRS][PQ] = wᵀ[CRS][K] · dy_n[K][PQ]
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(g.crs()), static_cast<int>(g.pq()),
                  static_cast<int>(g.k), 1.0f, ws, static_cast<int>(g.crs()), dys + n * g.k * g.pq(),
                  static_cast<int>(g.pq()), 0.0f, col.data(), static_cast<int>(g.pq()));
      col2im(g, col.data(), dxs + n * g.c * g.h * g.w);
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
  const int64_t wsize = g.k * g.crs();
  const int nt = threads_for(g.n);
  // Each thread sums its images' contributions into its own partial; partials are added after.
  std::vector<float> partial(static_cast<size_t>(nt * wsize), 0.0f);
#pragma omp parallel num_threads(nt)
  {
    std::vector<float> col(static_cast<size_t>(g.crs() * g.pq()));
    float* mine = partial.data() + omp_get_thread_num() * wsize;
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.n; ++n) {
      im2col(g, xs + n * g.c * g.h * g.w, col.data());
      // dw[K][CRS] += dy_n[K][PQ] · colᵀ[PQ][CRS]
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(g.k), static_cast<int>(g.crs()),
                  static_cast<int>(g.pq()), 1.0f, dys + n * g.k * g.pq(), static_cast<int>(g.pq()), col.data(),
                  static_cast<int>(g.pq()), 1.0f, mine, static_cast<int>(g.crs()));
    }
  }
  std::copy(partial.begin(), partial.begin() + wsize, dws);
  for (int t = 1; t < nt; ++t)
    for (int64_t i = 0; i < wsize; ++i) dws[i] += partial[static_cast<size_t>(t * wsize + i)];
}
TANDEM_KERNEL(cpu_kernels, conv2d_backward_weights, conv2d_backward_weights);

}  // namespace tandem::cpu
