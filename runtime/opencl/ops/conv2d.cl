// Direct convolution: x [N,C,H,W], w [K,C,R,S], y [N,K,P,Q], stride (sh, sw), zero padding
// (ph, pw). One work-item per output element of each op, summing in float; no scratch memory.
#define GEOMETRY                                                                                              \
  const int N, const int C, const int H, const int W, const int K, const int R, const int S, const int P, \
      const int Q, const int sh, const int sw, const int ph, const int pw

// y[n,k,p,q] = Σ_{c,r,s} x[n,c,p·sh−ph+r, q·sw−pw+s] · w[k,c,r,s]
kernel void conv2d_forward_f32(IN(float, x), IN(float, w), OUT(float, y), GEOMETRY) {
  const long i = get_global_id(0);
  if (i >= (long)N * K * P * Q) return;
  const int q = i % Q, p = (i / Q) % P, k = (i / ((long)P * Q)) % K;
  const long n = i / ((long)K * P * Q);
  global const float *X = VIEW(x), *Wt = VIEW(w) + (long)k * C * R * S;
  float acc = 0.0f;
  for (int c = 0; c < C; ++c) {
    global const float *plane = X + (n * C + c) * H * W;
    for (int r = 0; r < R; ++r) {
      const int ih = p * sh - ph + r;
      if (ih < 0 || ih >= H) continue;
      for (int s = 0; s < S; ++s) {
        const int iw = q * sw - pw + s;
        if (iw >= 0 && iw < W) acc += plane[ih * W + iw] * Wt[(c * R + r) * S + s];
      }
    }
  }
  VIEW(y)[i] = acc;
}

// dx[n,c,h,w] = Σ over the (k, r, s) whose output position (p, q) read x[n,c,h,w] of
// dy[n,k,p,q] · w[k,c,r,s]: a gather, so no two work-items write one element.
kernel void conv2d_backward_data_f32(IN(float, dy), IN(float, w), OUT(float, dx), GEOMETRY) {
  const long i = get_global_id(0);
  if (i >= (long)N * C * H * W) return;
  const int iw = i % W, ih = (i / W) % H, c = (i / ((long)H * W)) % C;
  const long n = i / ((long)C * H * W);
  global const float *D = VIEW(dy), *Wt = VIEW(w);
  float acc = 0.0f;
  for (int k = 0; k < K; ++k) {
    global const float *plane = D + (n * K + k) * P * Q;
    for (int r = 0; r < R; ++r) {
      const int ph_ = ih + ph - r;  // = p·sh
      if (ph_ < 0 || ph_ % sh != 0 || ph_ / sh >= P) continue;
      const int p = ph_ / sh;
      for (int s = 0; s < S; ++s) {
        const int qw = iw + pw - s;
        if (qw < 0 || qw % sw != 0 || qw / sw >= Q) continue;
        acc += plane[p * Q + qw / sw] * Wt[((long)(k * C + c) * R + r) * S + s];
      }
    }
  }
  VIEW(dx)[i] = acc;
}

// dw[k,c,r,s] = Σ_{n,p,q} dy[n,k,p,q] · x[n,c,p·sh−ph+r, q·sw−pw+s]
kernel void conv2d_backward_weights_f32(IN(float, x), IN(float, dy), OUT(float, dw), GEOMETRY) {
  const long i = get_global_id(0);
  if (i >= (long)K * C * R * S) return;
  const int s = i % S, r = (i / S) % R, c = (i / (R * S)) % C, k = i / ((long)C * R * S);
  global const float *X = VIEW(x), *D = VIEW(dy);
  float acc = 0.0f;
  for (long n = 0; n < N; ++n) {
    global const float *plane = X + (n * C + c) * H * W, *g = D + (n * K + k) * P * Q;
    for (int p = 0; p < P; ++p) {
      const int ih = p * sh - ph + r;
      if (ih < 0 || ih >= H) continue;
      for (int q = 0; q < Q; ++q) {
        const int iw = q * sw - pw + s;
        if (iw >= 0 && iw < W) acc += g[p * Q + q] * plane[ih * W + iw];
      }
    }
  }
  VIEW(dw)[i] = acc;
}
