// Softmax cross-entropy, forward and backward. Labels were checked on the host.

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
