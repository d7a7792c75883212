// relu and bias, forward and backward, and add + ReLU: one work-item per element (bias_backward: a work-group
// per channel). f32.

kernel void relu_forward_f32(IN(float, x), OUT(float, y), const ulong n) {
  const size_t i = get_global_id(0);
  if (i < n) {
    const float v = VIEW(x)[i];
    VIEW(y)[i] = v > 0.0f ? v : 0.0f;  // NaN → 0, as on the CPU
  }
}

kernel void relu_backward_f32(IN(float, x), IN(float, dy), OUT(float, dx), const ulong n) {
  const size_t i = get_global_id(0);
  if (i < n) VIEW(dx)[i] = VIEW(x)[i] > 0.0f ? VIEW(dy)[i] : 0.0f;
}

// c = max(a + b, 0); c may be a or b.
kernel void add_relu_f32(IN(float, a), IN(float, b), OUT(float, c), const ulong n) {
  const size_t i = get_global_id(0);
  if (i < n) {
    const float v = VIEW(a)[i] + VIEW(b)[i];
    VIEW(c)[i] = v > 0.0f ? v : 0.0f;
  }
}

// y[n][c][inner] += bias[c].
kernel void bias_add_f32(IN(float, bias), OUT(float, y), const ulong channels, const ulong inner, const ulong total) {
  const size_t i = get_global_id(0);
  if (i < total) VIEW(y)[i] += VIEW(bias)[(i / inner) % channels];
}

kernel void bias_relu_f32(IN(float, bias), OUT(float, y), const ulong channels, const ulong inner, const ulong total) {
  const size_t i = get_global_id(0);
  if (i < total) VIEW(y)[i] = fmax(VIEW(y)[i] + VIEW(bias)[(i / inner) % channels], 0.0f);
}

// dbias[c] = Σ dy[n][c][·]: a work-group of 64 per channel, each item a strided partial sum in
// acc_t, then a tree in local memory.
#define BIAS_WG 64
kernel void bias_backward_f32(IN(float, dy), OUT(float, db), const ulong batch, const ulong channels,
                              const ulong inner) {
  local acc_t part[BIAS_WG];
  const size_t c = get_group_id(0), l = get_local_id(0);
  global const float *d = VIEW(dy);
  acc_t sum = 0;
  for (ulong n = 0; n < batch; ++n) {
    global const float *row = d + (n * channels + c) * inner;
    for (ulong i = l; i < inner; i += BIAS_WG) sum += row[i];
  }
  part[l] = sum;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (size_t s = BIAS_WG / 2; s > 0; s /= 2) {
    if (l < s) part[l] += part[l + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (l == 0) VIEW(db)[c] = (float)part[0];
}
