// softmax along an axis, its masked form and their gradient: x seen as [outer][n][inner], one
// work-item per (outer, inner) line, whose n values lie `inner` apart. The float steps are the
// CPU's (runtime/cpu/ops/softmax.cpp) in the same order: the sum in float, in index order.

// One line. keep: the line's mask row, or 0 for every position kept. y may be x: each value is
// read before its position is written, and later passes read only y.
void softmax_line(global const float *x, global float *y, const ulong n, const ulong step, const float scale,
                  global const uchar *keep) {
  float mx = -INFINITY;
  for (ulong j = 0; j < n; ++j) {
    const float v = scale * x[j * step];
    if (!keep || keep[j]) mx = mx < v ? v : mx;  // std::max's choice, NaN never taken
  }
  if (keep && mx == -INFINITY) {  // nothing kept: all 0
    for (ulong j = 0; j < n; ++j) y[j * step] = 0.0f;
    return;
  }
  float sum = 0.0f;
  for (ulong j = 0; j < n; ++j) {
    const float e = (!keep || keep[j]) ? exp(scale * x[j * step] - mx) : 0.0f;
    y[j * step] = e;
    sum += e;
  }
  const float inv = 1.0f / sum;
  for (ulong j = 0; j < n; ++j) y[j * step] *= inv;
}

kernel void softmax_forward_f32(IN(float, x), OUT(float, y), const ulong lines, const ulong n, const ulong inner,
                                const float scale) {
  const size_t line = get_global_id(0);
  if (line >= lines) return;
  const size_t base = line / inner * n * inner + line % inner;
  softmax_line(VIEW(x) + base, VIEW(y) + base, n, inner, scale, 0);
}

// x [rows, n]; row r keeps the positions of mask row r / per_mask_row.
kernel void masked_softmax_forward_f32(IN(float, x), IN(uchar, mask), OUT(float, y), const ulong rows, const ulong n,
                                       const ulong per_mask_row, const float scale) {
  const size_t r = get_global_id(0);
  if (r >= rows) return;
  softmax_line(VIEW(x) + r * n, VIEW(y) + r * n, n, 1, scale, VIEW(mask) + r / per_mask_row * n);
}

// dx = scale·(y·(dy − Σ dy·y)) per line; dx may be dy: the sum is taken before anything is written.
kernel void softmax_backward_f32(IN(float, y), IN(float, dy), OUT(float, dx), const ulong lines, const ulong n,
                                 const ulong inner, const float scale) {
  const size_t line = get_global_id(0);
  if (line >= lines) return;
  const size_t base = line / inner * n * inner + line % inner;
  global const float *Y = VIEW(y) + base, *D = VIEW(dy) + base;
  global float *DX = VIEW(dx) + base;
  float dot = 0.0f;
  for (ulong j = 0; j < n; ++j) dot += D[j * inner] * Y[j * inner];
  for (ulong j = 0; j < n; ++j) DX[j * inner] = scale * (Y[j * inner] * (D[j * inner] - dot));
}
