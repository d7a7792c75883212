// Layer normalization over the last dimension of x [rows, d]. The float and acc_t steps are the
// CPU's (runtime/cpu/ops/layernorm.cpp) in the same order: with doubles, the same bits.

// One work-item per row: the mean, then the squared deviations from it (summed in acc_t), then
// y = (x − mean)·rstd·gamma + beta. y may be x: each element is read before it is written.
kernel void layernorm_forward_f32(IN(float, x), IN(float, gamma), IN(float, beta), OUT(float, y), OUT(float, mean),
                                  OUT(float, rstd), const ulong rows, const ulong d, const float eps) {
  const size_t i = get_global_id(0);
  if (i >= rows) return;
  global const float *in = VIEW(x) + i * d, *G = VIEW(gamma), *B = VIEW(beta);
  global float *out = VIEW(y) + i * d;
  acc_t s = 0;
  for (ulong j = 0; j < d; ++j) s += in[j];
  const acc_t mu = s / (acc_t)d;
  acc_t q = 0;
  for (ulong j = 0; j < d; ++j) q += (in[j] - mu) * (in[j] - mu);
  const float m = (float)mu, r = (float)((acc_t)1 / sqrt(q / (acc_t)d + (acc_t)eps));
  for (ulong j = 0; j < d; ++j) out[j] = (in[j] - m) * r * G[j] + B[j];
  VIEW(mean)[i] = m;
  VIEW(rstd)[i] = r;
}

// The CPU sums the parameter gradients over blocks of this many rows, then the blocks in order.
#define LN_BLOCK 64

// One work-item per column j: dgamma[j] = Σ dy·x̂ and dbeta[j] = Σ dy over the rows in order.
kernel void layernorm_params_f32(IN(float, x), IN(float, dy), IN(float, mean), IN(float, rstd), OUT(float, dgamma),
                                 OUT(float, dbeta), const ulong rows, const ulong d) {
  const size_t j = get_global_id(0);
  if (j >= d) return;
  global const float *X = VIEW(x), *D = VIEW(dy), *M = VIEW(mean), *R = VIEW(rstd);
  acc_t sg = 0, sb = 0;
  for (ulong b = 0; b < rows; b += LN_BLOCK) {
    acc_t pg = 0, pb = 0;
    for (ulong i = b; i < min(rows, b + LN_BLOCK); ++i) {
      const acc_t xh = (X[i * d + j] - M[i]) * R[i];
      pg += D[i * d + j] * xh;
      pb += D[i * d + j];
    }
    sg += pg;
    sb += pb;
  }
  VIEW(dgamma)[j] = (float)sg;
  VIEW(dbeta)[j] = (float)sb;
}

// One work-item per row: dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·gamma. dx may be dy: the
// row's sums are taken before it is written.
kernel void layernorm_backward_f32(IN(float, x), IN(float, dy), IN(float, gamma), IN(float, mean), IN(float, rstd),
                                   OUT(float, dx), const ulong rows, const ulong d) {
  const size_t i = get_global_id(0);
  if (i >= rows) return;
  global const float *in = VIEW(x) + i * d, *D = VIEW(dy) + i * d, *G = VIEW(gamma);
  global float *out = VIEW(dx) + i * d;
  const float m = VIEW(mean)[i], r = VIEW(rstd)[i];
  acc_t sg = 0, sgx = 0;
  for (ulong j = 0; j < d; ++j) {
    const acc_t xh = (in[j] - m) * r, g = (acc_t)D[j] * G[j];
    sg += g;
    sgx += g * xh;
  }
  const acc_t mg = sg / (acc_t)d, mgx = sgx / (acc_t)d;
  for (ulong j = 0; j < d; ++j) {
    const acc_t xh = (in[j] - m) * r;
    out[j] = (float)(r * ((acc_t)D[j] * G[j] - mg - xh * mgx));
  }
}
