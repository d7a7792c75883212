// adam_update (ops.h): one work-item per element, each operation rounded as written (common.cl
// turns contraction off; the program is built with correctly rounded division and square root),
// so the results are the CPU's.
kernel void adam_update_f32(IN(float, g), OUT(float, w), OUT(float, m), OUT(float, v), const ulong n,
                            const float beta1, const float beta2, const float one_minus_beta1,
                            const float one_minus_beta2, const float eps, const float l2, const float decay,
                            const float step_size, const float bias2_sqrt) {
  const size_t i = get_global_id(0);
  if (i >= n) return;
  float gi = VIEW(g)[i], wi = VIEW(w)[i];
  if (l2 != 0.0f) gi = gi + l2 * wi;
  if (decay != 1.0f) wi = wi * decay;
  const float mi = beta1 * VIEW(m)[i] + one_minus_beta1 * gi;
  const float vi = beta2 * VIEW(v)[i] + one_minus_beta2 * gi * gi;
  VIEW(m)[i] = mi;
  VIEW(v)[i] = vi;
  VIEW(w)[i] = wi - step_size * mi / (sqrt(vi) / bias2_sqrt + eps);
}
