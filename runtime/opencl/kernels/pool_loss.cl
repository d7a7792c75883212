// maxpool2d and softmax cross-entropy. Indices and labels were checked on the host.

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

// One work-item per row: max-shifted exponentials summed in acc_t, the row's loss
// log Σ + max − x[label] written to row_loss for the batch mean.
kernel void softmax_xent_rows_f32(IN(float, logits), IN(int, labels), OUT(float, probs), OUT(acc_t, row_loss),
                                  const ulong rows, const ulong k) {
  const size_t i = get_global_id(0);
  if (i >= rows) return;
  global const float *row = VIEW(logits) + i * k;
  global float *out = VIEW(probs) + i * k;
  float mx = row[0];
  for (ulong j = 1; j < k; ++j) mx = fmax(mx, row[j]);
  acc_t sum = 0;
  for (ulong j = 0; j < k; ++j) {
    out[j] = exp(row[j] - mx);
    sum += out[j];
  }
  const float inv = (float)(1.0 / sum);
  for (ulong j = 0; j < k; ++j) out[j] *= inv;
  VIEW(row_loss)[i] = log(sum) + mx - row[VIEW(labels)[i]];
}

// loss[0] = mean of the row losses, summed in row order (as on the CPU).
kernel void softmax_xent_mean_f32(IN(acc_t, row_loss), OUT(float, loss), const ulong rows) {
  if (get_global_id(0) != 0) return;
  acc_t total = 0;
  for (ulong i = 0; i < rows; ++i) total += VIEW(row_loss)[i];
  VIEW(loss)[0] = (float)(total / (acc_t)rows);
}

// dlogits = g·probs − g·onehot(labels), g = dloss / N.
kernel void softmax_xent_backward_f32(IN(float, probs), IN(int, labels), OUT(float, d), const ulong rows,
                                      const ulong k, const float g) {
  const size_t i = get_global_id(0);
  if (i >= rows * k) return;
  const size_t r = i / k, j = i % k;
  const float v = g * VIEW(probs)[i];
  VIEW(d)[i] = j == (size_t)VIEW(labels)[r] ? v - g : v;
}
