// Embedding rows gathered by id, and the gradient scattered back. The ids were checked on the
// host, so every row read or written is in the table.

// One work-item per element of y [n, d].
kernel void embedding_forward_f32(IN(int, ids), IN(float, table), OUT(float, y), const ulong n, const ulong d) {
  const size_t e = get_global_id(0);
  if (e >= n * d) return;
  VIEW(y)[e] = VIEW(table)[(ulong)VIEW(ids)[e / d] * d + e % d];
}

// One work-item per column: rows added in index order, so repeated ids sum as on the CPU (the
// same bits on every device), and no two items touch one element.
kernel void embedding_backward_f32(IN(int, ids), IN(float, dy), OUT(float, dtable), const ulong n, const ulong d) {
  const size_t c = get_global_id(0);
  if (c >= d) return;
  global const int *I = VIEW(ids);
  global const float *D = VIEW(dy);
  global float *T = VIEW(dtable);
  for (ulong i = 0; i < n; ++i) T[(ulong)I[i] * d + c] += D[i * d + c];
}
