// Batch normalization over the channel of x [N,C,inner]: a work-group of 64 per channel for the
// statistics and the backward reductions (each item a strided partial sum in acc_t, then a tree
// in local memory), one work-item per element for the normalization and the input gradient.
// The float steps are the CPU's (tandem/cpu/ops/batchnorm.cpp), in the same order.
#define BN_WG 64

// part[0] = Σ part[0 .. BN_WG) (a tree; every item must call it).
void bn_tree(local acc_t *part) {
  const size_t l = get_local_id(0);
  barrier(CLK_LOCAL_MEM_FENCE);
  for (size_t s = BN_WG / 2; s > 0; s /= 2) {
    if (l < s) part[l] += part[l + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
}

// The batch mean and biased variance of channel get_group_id(0) (two passes), saved as mean and
// 1/√(var + eps), and the running statistics updated with the unbiased variance.
kernel void batchnorm_stats_f32(IN(float, x), OUT(float, save_mean), OUT(float, save_invstd),
                                OUT(float, running_mean), OUT(float, running_var), const ulong batch,
                                const ulong channels, const ulong inner, const float eps, const float momentum) {
  local acc_t part[BN_WG];
  const size_t c = get_group_id(0), l = get_local_id(0);
  global const float *X = VIEW(x);
  const acc_t count = (acc_t)(batch * inner);
  acc_t sum = 0;
  for (ulong n = 0; n < batch; ++n) {
    global const float *row = X + (n * channels + c) * inner;
    for (ulong i = l; i < inner; i += BN_WG) sum += row[i];
  }
  part[l] = sum;
  bn_tree(part);
  const acc_t mean = part[0] / count;
  barrier(CLK_LOCAL_MEM_FENCE);  // every item has read part[0]
  acc_t sq = 0;
  for (ulong n = 0; n < batch; ++n) {
    global const float *row = X + (n * channels + c) * inner;
    for (ulong i = l; i < inner; i += BN_WG) {
      const acc_t d = row[i] - mean;
      sq += d * d;
    }
  }
  part[l] = sq;
  bn_tree(part);
  if (l != 0) return;
  const acc_t var = part[0] / count;
  const float m = (float)mean, unbiased = (float)(var * count / (count - (acc_t)1));
  VIEW(save_mean)[c] = m;
  VIEW(save_invstd)[c] = (float)((acc_t)1 / sqrt(var + (acc_t)eps));
  VIEW(running_mean)[c] = (1.0f - momentum) * VIEW(running_mean)[c] + momentum * m;
  VIEW(running_var)[c] = (1.0f - momentum) * VIEW(running_var)[c] + momentum * unbiased;
}

// max(v, 0) when `relu` (BN + ReLU fused), NaN giving 0 as relu_forward_f32.
float bn_out(const float v, const int relu) { return relu && !(v > 0.0f) ? 0.0f : v; }

// Training: y = (x − mean[c])·(invstd[c]·gamma[c]) + beta[c].
kernel void batchnorm_apply_f32(IN(float, x), IN(float, gamma), IN(float, beta), IN(float, mean), IN(float, invstd),
                                OUT(float, y), const ulong channels, const ulong inner, const ulong total,
                                const int relu) {
  const size_t i = get_global_id(0);
  if (i >= total) return;
  const size_t c = (i / inner) % channels;
  const float scale = VIEW(invstd)[c] * VIEW(gamma)[c];
  VIEW(y)[i] = bn_out((VIEW(x)[i] - VIEW(mean)[c]) * scale + VIEW(beta)[c], relu);
}

// Inference, from the running statistics; y may be x.
kernel void batchnorm_infer_f32(IN(float, x), IN(float, gamma), IN(float, beta), IN(float, running_mean),
                                IN(float, running_var), OUT(float, y), const ulong channels, const ulong inner,
                                const ulong total, const float eps, const int relu) {
  const size_t i = get_global_id(0);
  if (i >= total) return;
  const size_t c = (i / inner) % channels;
  const float invstd = (float)((acc_t)1 / sqrt((acc_t)VIEW(running_var)[c] + (acc_t)eps));
  const float scale = invstd * VIEW(gamma)[c];
  VIEW(y)[i] = bn_out((VIEW(x)[i] - VIEW(running_mean)[c]) * scale + VIEW(beta)[c], relu);
}

// Per channel: dbeta = Σ dy, dgamma = invstd·Σ dy·(x − mean), and the input gradient's
// coefficients coef[c] = (a, b, k): dx = a·((dy − b) − (x − mean)·k).
kernel void batchnorm_backward_reduce_f32(IN(float, x), IN(float, dy), IN(float, gamma), IN(float, mean),
                                          IN(float, invstd), OUT(float, dgamma), OUT(float, dbeta), OUT(float, coef),
                                          const ulong batch, const ulong channels, const ulong inner) {
  local acc_t part[BN_WG];
  const size_t c = get_group_id(0), l = get_local_id(0);
  global const float *X = VIEW(x), *D = VIEW(dy);
  const acc_t m = VIEW(mean)[c];
  acc_t s = 0, sx = 0;
  for (ulong n = 0; n < batch; ++n) {
    const ulong row = (n * channels + c) * inner;
    for (ulong i = l; i < inner; i += BN_WG) {
      s += D[row + i];
      sx += (acc_t)D[row + i] * (X[row + i] - m);
    }
  }
  part[l] = s;
  bn_tree(part);
  s = part[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  part[l] = sx;
  bn_tree(part);
  if (l != 0) return;
  sx = part[0];
  const acc_t inv = VIEW(invstd)[c], count = (acc_t)(batch * inner);
  VIEW(dbeta)[c] = (float)s;
  VIEW(dgamma)[c] = (float)(sx * inv);
  global float *k = VIEW(coef) + 3 * c;
  k[0] = VIEW(gamma)[c] * VIEW(invstd)[c];
  k[1] = count > 0 ? (float)(s / count) : 0.0f;
  k[2] = count > 0 ? (float)(sx * inv * inv / count) : 0.0f;
}

// dx may be dy: each item reads its dy element, then writes the same position.
kernel void batchnorm_backward_apply_f32(IN(float, x), IN(float, dy), IN(float, mean), IN(float, coef), OUT(float, dx),
                                         const ulong channels, const ulong inner, const ulong total) {
  const size_t i = get_global_id(0);
  if (i >= total) return;
  const size_t c = (i / inner) % channels;
  global const float *k = VIEW(coef) + 3 * c;
  VIEW(dx)[i] = k[0] * ((VIEW(dy)[i] - k[1]) - (VIEW(x)[i] - VIEW(mean)[c]) * k[2]);
}

// Inference normalization folded into the weights w [K, per] before it: item i scales weight i;
// items below K also fold the bias of their channel (in place).
kernel void batchnorm_fold_f32(IN(float, w), IN(float, gamma), IN(float, beta), IN(float, running_mean),
                               IN(float, running_var), OUT(float, w_out), OUT(float, bias), const ulong channels,
                               const ulong per, const float eps) {
  const size_t i = get_global_id(0);
  if (i >= channels * per && i >= channels) return;
  if (i < channels * per) {
    const size_t c = i / per;
    const float invstd = (float)((acc_t)1 / sqrt((acc_t)VIEW(running_var)[c] + (acc_t)eps));
    VIEW(w_out)[i] = VIEW(w)[i] * (invstd * VIEW(gamma)[c]);
  }
  if (i < channels) {
    const float invstd = (float)((acc_t)1 / sqrt((acc_t)VIEW(running_var)[i] + (acc_t)eps));
    VIEW(bias)[i] = (VIEW(bias)[i] - VIEW(running_mean)[i]) * (invstd * VIEW(gamma)[i]) + VIEW(beta)[i];
  }
}
