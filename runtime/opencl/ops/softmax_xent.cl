// Softmax cross-entropy, forward and backward. Labels were checked on the host.

// One work-item per row: max-shifted exponentials summed in acc_t, the row's loss
// log Σ + max − x[label] written to row_loss for the batch mean (0 for an ignored row).
kernel void softmax_xent_rows_f32(IN(float, logits), IN(int, labels), OUT(float, probs), OUT(acc_t, row_loss),
                                  const ulong rows, const ulong k, const int ignore) {
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
  const int label = VIEW(labels)[i];
  VIEW(row_loss)[i] = label == ignore ? (acc_t)0 : log(sum) + mx - row[label];
}

// loss[0] = the row losses summed in row order (as on the CPU) over the kept rows' count.
kernel void softmax_xent_mean_f32(IN(acc_t, row_loss), OUT(float, loss), const ulong rows, const ulong kept) {
  if (get_global_id(0) != 0) return;
  acc_t total = 0;
  for (ulong i = 0; i < rows; ++i) total += VIEW(row_loss)[i];
  VIEW(loss)[0] = kept == 0 ? 0.0f : (float)(total / (acc_t)kept);
}

// dlogits = g·probs − g·onehot(labels), g = dloss / kept; 0 on an ignored row.
kernel void softmax_xent_backward_f32(IN(float, probs), IN(int, labels), OUT(float, d), const ulong rows,
                                      const ulong k, const float g, const int ignore) {
  const size_t i = get_global_id(0);
  if (i >= rows * k) return;
  const size_t r = i / k, j = i % k;
  const int label = VIEW(labels)[r];
  const float v = g * VIEW(probs)[i];
  VIEW(d)[i] = label == ignore ? 0.0f : j == (size_t)label ? v - g : v;
}
