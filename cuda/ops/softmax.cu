// softmax along an axis, its masked form and their gradient. x is seen as [outer][n][inner]:
// along the last axis (inner = 1) a warp per row, its lanes striding the row and combining
// their partial max and f32 sums by warp reductions (deterministic, but a tree rather than the
// CPU's index order: within rounding of it); along another axis a thread per (outer, inner)
// line, whose steps through memory are `inner` apart and coalesce across the threads, adding
// in index order as the CPU does. The float steps are the CPU's: max of scale·x, exp(scale·x −
// max), then a multiply by 1/sum. y may be x (dx may be dy): each lane reads its own elements
// before writing them, and the reductions sit between the passes over the row.
#include <cmath>

#include "common.cuh"
#include "op.h"

namespace tandem::cuda {
namespace {

// Row r of x [rows, n]; keep: u8 [rows / per_mask_row, n] (nullptr: every position kept).
__global__ void softmax_rows_kernel(const float* x, const uint8_t* keep, int64_t per_mask_row, float* y, int64_t rows,
                                    int64_t n, float scale) {
  const int lane = threadIdx.x % 32;
  TANDEM_WARP_LOOP(r, rows) {
    const float* in = x + r * n;
    float* out = y + r * n;
    const uint8_t* k = keep ? keep + (r / per_mask_row) * n : nullptr;
    float mx = -INFINITY;
    for (int64_t j = lane; j < n; j += 32)
      if (!k || k[j]) mx = fmaxf(mx, scale * in[j]);
    mx = warp_max(mx);
    if (k && mx == -INFINITY) {  // nothing kept: all 0, as on the CPU
      for (int64_t j = lane; j < n; j += 32) out[j] = 0.0f;
      continue;
    }
    float sum = 0.0f;
    for (int64_t j = lane; j < n; j += 32) {
      const float e = !k || k[j] ? expf(scale * in[j] - mx) : 0.0f;
      out[j] = e;
      sum += e;
    }
    const float inv = 1.0f / warp_sum(sum);
    for (int64_t j = lane; j < n; j += 32) out[j] *= inv;
  }
}

__global__ void softmax_lines_kernel(const float* x, float* y, AxisSplit s, float scale) {
  TANDEM_GRID_LOOP(line, s.outer * s.inner) {
    const int64_t o = line / s.inner, i = line % s.inner, base = o * s.n * s.inner + i;
    const float* in = x + base;
    float* out = y + base;
    float mx = -INFINITY;
    for (int64_t j = 0; j < s.n; ++j) mx = fmaxf(mx, scale * in[j * s.inner]);
    float sum = 0.0f;
    for (int64_t j = 0; j < s.n; ++j) {
      const float e = expf(scale * in[j * s.inner] - mx);
      out[j * s.inner] = e;
      sum += e;
    }
    const float inv = 1.0f / sum;
    for (int64_t j = 0; j < s.n; ++j) out[j * s.inner] *= inv;
  }
}

// dx = scale·(y·(dy − Σ dy·y)).
__global__ void softmax_backward_rows_kernel(const float* y, const float* dy, float* dx, int64_t rows, int64_t n,
                                             float scale) {
  const int lane = threadIdx.x % 32;
  TANDEM_WARP_LOOP(r, rows) {
    const int64_t base = r * n;
    float dot = 0.0f;
    for (int64_t j = lane; j < n; j += 32) dot += dy[base + j] * y[base + j];
    dot = warp_sum(dot);
    for (int64_t j = lane; j < n; j += 32) dx[base + j] = scale * (y[base + j] * (dy[base + j] - dot));
  }
}

__global__ void softmax_backward_lines_kernel(const float* y, const float* dy, float* dx, AxisSplit s, float scale) {
  TANDEM_GRID_LOOP(line, s.outer * s.inner) {
    const int64_t o = line / s.inner, i = line % s.inner, base = o * s.n * s.inner + i;
    float dot = 0.0f;
    for (int64_t j = 0; j < s.n; ++j) dot += dy[base + j * s.inner] * y[base + j * s.inner];
    for (int64_t j = 0; j < s.n; ++j) {
      const int64_t e = base + j * s.inner;
      dx[e] = scale * (y[e] * (dy[e] - dot));
    }
  }
}

AxisSplit split_of(const OpCall& c, const Tensor& t) {
  return split_at(t.shape(), normalize_axis(c.param<SoftmaxParams>().axis, t.shape().rank()));
}

const float* in_f32(const Tensor* t) { return static_cast<const float*>(t->data()); }
float* out_f32(const Tensor* t) { return static_cast<float*>(t->data()); }

// Launches the row kernel for the last axis (a warp per row), the line kernel otherwise.
void launch_softmax(const Op& op, const Tensor& x, const uint8_t* keep, int64_t per_mask_row, const Tensor& y,
                    const AxisSplit& s) {
  const float scale = op.call.param<SoftmaxParams>().scale;
  if (x.numel() == 0) return;
  if (s.inner == 1) {
    const int64_t rows = s.outer;
    softmax_rows_kernel<<<op.grid(rows * 32), block_threads, 0, op.s()>>>(in_f32(&x), keep, per_mask_row, out_f32(&y),
                                                                          rows, s.n, scale);
    op.launched("softmax_rows");
  } else {
    softmax_lines_kernel<<<op.grid(s.outer * s.inner), block_threads, 0, op.s()>>>(in_f32(&x), out_f32(&y), s, scale);
    op.launched("softmax_lines");
  }
}

}  // namespace

void softmax_forward(const OpCall& c) {
  const Op op(c);
  launch_softmax(op, *c.in[0], nullptr, 1, *c.out[0], split_of(c, *c.in[0]));
}
TANDEM_KERNEL(cuda_kernels, softmax_forward, softmax_forward);

// x as [rows, n] over its last axis; row r reads mask row r / (rows / M).
void masked_softmax_forward(const OpCall& c) {
  const Op op(c);
  const Tensor &x = *c.in[0], &mask = *c.in[1];
  const int64_t n = x.shape()[x.shape().rank() - 1], rows = n == 0 ? 0 : x.numel() / n;
  const AxisSplit s{rows, n, 1};
  launch_softmax(op, x, static_cast<const uint8_t*>(mask.data()), rows / mask.shape()[0], *c.out[0], s);
}
TANDEM_KERNEL(cuda_kernels, masked_softmax_forward, masked_softmax_forward);

void softmax_backward(const OpCall& c) {
  const Op op(c);
  const Tensor &y = *c.in[0], &dy = *c.in[1], &dx = *c.out[0];
  const float scale = c.param<SoftmaxParams>().scale;
  const AxisSplit s = split_of(c, y);
  if (y.numel() == 0) return;
  if (s.inner == 1) {
    softmax_backward_rows_kernel<<<op.grid(s.outer * 32), block_threads, 0, op.s()>>>(in_f32(&y), in_f32(&dy),
                                                                                     out_f32(&dx), s.outer, s.n, scale);
    op.launched("softmax_backward_rows");
  } else {
    softmax_backward_lines_kernel<<<op.grid(s.outer * s.inner), block_threads, 0, op.s()>>>(in_f32(&y), in_f32(&dy),
                                                                                          out_f32(&dx), s, scale);
    op.launched("softmax_backward_lines");
  }
}
TANDEM_KERNEL(cuda_kernels, softmax_backward, softmax_backward);

}  // namespace tandem::cuda
