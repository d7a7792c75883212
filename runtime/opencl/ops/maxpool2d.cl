// maxpool2d, forward and backward. Indices were checked on the host.

// One work-item per output; the window is scanned in the CPU's order with a strict >, so ties
// give the first maximum and a NaN-only window its first element.
kernel void maxpool2d_forward_f32(IN(float, x), OUT(float, y), OUT(int, idx), const ulong planes, const int H,
                                  const int W, const int P, const int Q, const int kernel_size, const int stride) {
  const size_t o = get_global_id(0);
  if (o >= planes * P * Q) return;
  const int j = o % Q, i = (o / Q) % P;
  global const float *in = VIEW(x) + (o / ((size_t)P * Q)) * H * W;
  float best = -INFINITY;
  int arg = (i * stride) * W + j * stride;
  for (int di = 0; di < kernel_size; ++di)
    for (int dj = 0; dj < kernel_size; ++dj) {
      const int at = (i * stride + di) * W + j * stride + dj;
      if (in[at] > best) {
        best = in[at];
        arg = at;
      }
    }
  VIEW(y)[o] = in[arg];
  VIEW(idx)[o] = arg;
}

// The same of max(x + bias[c], 0): bias, ReLU and pool fused.
kernel void bias_relu_maxpool2d_f32(IN(float, x), IN(float, bias), OUT(float, y), OUT(int, idx), const ulong planes,
                                    const int C, const int H, const int W, const int P, const int Q,
                                    const int kernel_size, const int stride) {
  const size_t o = get_global_id(0);
  if (o >= planes * P * Q) return;
  const int j = o % Q, i = (o / Q) % P;
  const size_t plane = o / ((size_t)P * Q);
  global const float *in = VIEW(x) + plane * H * W;
  const float b = VIEW(bias)[plane % C];
  float best = -INFINITY;
  int arg = (i * stride) * W + j * stride;
  for (int di = 0; di < kernel_size; ++di)
    for (int dj = 0; dj < kernel_size; ++dj) {
      const int at = (i * stride + di) * W + j * stride + dj;
      const float v = in[at] + b, r = v > 0.0f ? v : 0.0f;
      if (r > best) {
        best = r;
        arg = at;
      }
    }
  const float v = in[arg] + b;
  VIEW(y)[o] = v > 0.0f ? v : 0.0f;
  VIEW(idx)[o] = arg;
}

// One work-item per plane: zero it, then add every output's gradient at its index in output
// order — the CPU's order, so overlapping windows sum identically.
kernel void maxpool2d_backward_f32(IN(float, dy), IN(int, idx), OUT(float, dx), const ulong planes, const int per_out,
                                   const int per_in) {
  const size_t pl = get_global_id(0);
  if (pl >= planes) return;
  global float *out = VIEW(dx) + pl * per_in;
  global const float *g = VIEW(dy) + pl * per_out;
  global const int *is = VIEW(idx) + pl * per_out;
  for (int i = 0; i < per_in; ++i) out[i] = 0.0f;
  for (int o = 0; o < per_out; ++o) out[is[o]] += g[o];
}
