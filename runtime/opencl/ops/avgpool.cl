// Average pooling, the CPU's float operations in its order: kernel×kernel windows forward (one
// work-item per output) and backward (one per input element, gathering the windows covering
// it); global forward (one work-item per plane, summed in acc_t) and backward (one per element).

kernel void avgpool2d_forward_f32(IN(float, x), OUT(float, y), const ulong planes, const int H, const int W,
                                  const int P, const int Q, const int kernel_size, const int stride) {
  const size_t o = get_global_id(0);
  if (o >= planes * P * Q) return;
  const int j = o % Q, i = (o / Q) % P;
  global const float *in = VIEW(x) + (o / ((size_t)P * Q)) * H * W;
  float sum = 0.0f;
  for (int di = 0; di < kernel_size; ++di)
    for (int dj = 0; dj < kernel_size; ++dj) sum += in[(i * stride + di) * W + j * stride + dj];
  VIEW(y)[o] = sum / ((float)kernel_size * (float)kernel_size);
}

kernel void avgpool2d_backward_f32(IN(float, dy), OUT(float, dx), const ulong planes, const int H, const int W,
                                   const int P, const int Q, const int kernel_size, const int stride) {
  const size_t e = get_global_id(0);
  if (e >= planes * H * W) return;
  const int c = e % W, r = (e / W) % H;
  global const float *g = VIEW(dy) + (e / ((size_t)H * W)) * P * Q;
  // Windows i with i·stride ≤ r < i·stride + kernel: [i_lo, i_hi); likewise j for c.
  const int i_lo = r < kernel_size ? 0 : (r - kernel_size) / stride + 1, i_hi = min(P, r / stride + 1);
  const int j_lo = c < kernel_size ? 0 : (c - kernel_size) / stride + 1, j_hi = min(Q, c / stride + 1);
  float sum = 0.0f;
  for (int i = i_lo; i < i_hi; ++i)
    for (int j = j_lo; j < j_hi; ++j) sum += g[i * Q + j];
  VIEW(dx)[e] = sum / ((float)kernel_size * (float)kernel_size);
}

kernel void global_avgpool_forward_f32(IN(float, x), OUT(float, y), const ulong planes, const ulong hw) {
  const size_t p = get_global_id(0);
  if (p >= planes) return;
  global const float *in = VIEW(x) + p * hw;
  acc_t s = 0;
  for (ulong i = 0; i < hw; ++i) s += in[i];
  VIEW(y)[p] = (float)(s / (acc_t)hw);
}

kernel void global_avgpool_backward_f32(IN(float, dy), OUT(float, dx), const ulong hw, const ulong total) {
  const size_t i = get_global_id(0);
  if (i < total) VIEW(dx)[i] = VIEW(dy)[i / hw] / (float)hw;
}
