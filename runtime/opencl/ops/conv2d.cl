// Direct convolution: x [N,C,H,W], w [K,C/G,R,S], y [N,K,P,Q], stride (sh, sw), zero padding
// (ph, pw), dilation (dh, dw) and G groups (filter k sees the C/G channels of group k / (K/G)).
// One work-item per output element of each op, summing in float; no scratch memory.
#define GEOMETRY                                                                                              \
  const int N, const int C, const int H, const int W, const int K, const int R, const int S, const int P, \
      const int Q, const int sh, const int sw, const int ph, const int pw, const int dh, const int dw, const int G

// y[n,k,p,q] = Σ_{c,r,s} x[n, c0 + c, p·sh−ph+r·dh, q·sw−pw+s·dw] · w[k,c,r,s], c0 the first
// channel of k's group.
kernel void conv2d_forward_f32(IN(float, x), IN(float, w), OUT(float, y), GEOMETRY) {
  const long i = get_global_id(0);
  if (i >= (long)N * K * P * Q) return;
  const int q = i % Q, p = (i / Q) % P, k = (i / ((long)P * Q)) % K;
  const long n = i / ((long)K * P * Q);
  const int CG = C / G, c0 = (k / (K / G)) * CG;
  global const float *X = VIEW(x), *Wt = VIEW(w) + (long)k * CG * R * S;
  float acc = 0.0f;
  for (int c = 0; c < CG; ++c) {
    global const float *plane = X + (n * C + c0 + c) * H * W;
    for (int r = 0; r < R; ++r) {
      const int ih = p * sh - ph + r * dh;
      if (ih < 0 || ih >= H) continue;
      for (int s = 0; s < S; ++s) {
        const int iw = q * sw - pw + s * dw;
        if (iw >= 0 && iw < W) acc += plane[ih * W + iw] * Wt[(c * R + r) * S + s];
      }
    }
  }
  VIEW(y)[i] = acc;
}

// dx[n,c,h,w] = Σ over the filters k of c's group and the taps (r, s) whose output position
// (p, q) read x[n,c,h,w] of dy[n,k,p,q] · w[k,c mod C/G,r,s]: a gather, so no two work-items
// write one element.
kernel void conv2d_backward_data_f32(IN(float, dy), IN(float, w), OUT(float, dx), GEOMETRY) {
  const long i = get_global_id(0);
  if (i >= (long)N * C * H * W) return;
  const int iw = i % W, ih = (i / W) % H, c = (i / ((long)H * W)) % C;
  const long n = i / ((long)C * H * W);
  const int CG = C / G, KG = K / G, group = c / CG, cl = c % CG;
  global const float *D = VIEW(dy), *Wt = VIEW(w);
  float acc = 0.0f;
  for (int k = group * KG; k < (group + 1) * KG; ++k) {
    global const float *plane = D + (n * K + k) * P * Q;
    for (int r = 0; r < R; ++r) {
      const int ph_ = ih + ph - r * dh;  // = p·sh
      if (ph_ < 0 || ph_ % sh != 0 || ph_ / sh >= P) continue;
      const int p = ph_ / sh;
      for (int s = 0; s < S; ++s) {
        const int qw = iw + pw - s * dw;
        if (qw < 0 || qw % sw != 0 || qw / sw >= Q) continue;
        acc += plane[p * Q + qw / sw] * Wt[((long)(k * CG + cl) * R + r) * S + s];
      }
    }
  }
  VIEW(dx)[i] = acc;
}

// dw[k,c,r,s] = Σ_{n,p,q} dy[n,k,p,q] · x[n, c0 + c, p·sh−ph+r·dh, q·sw−pw+s·dw]
kernel void conv2d_backward_weights_f32(IN(float, x), IN(float, dy), OUT(float, dw_), GEOMETRY) {
  const int CG = C / G;
  const long i = get_global_id(0);
  if (i >= (long)K * CG * R * S) return;
  const int s = i % S, r = (i / S) % R, cl = (i / (R * S)) % CG, k = i / ((long)CG * R * S);
  const int c = (k / (K / G)) * CG + cl;
  global const float *X = VIEW(x), *D = VIEW(dy);
  float acc = 0.0f;
  for (long n = 0; n < N; ++n) {
    global const float *plane = X + (n * C + c) * H * W, *g = D + (n * K + k) * P * Q;
    for (int p = 0; p < P; ++p) {
      const int ih = p * sh - ph + r * dh;
      if (ih < 0 || ih >= H) continue;
      for (int q = 0; q < Q; ++q) {
        const int iw = q * sw - pw + s * dw;
        if (iw >= 0 && iw < W) acc += g[p * Q + q] * plane[ih * W + iw];
      }
    }
  }
  VIEW(dw_)[i] = acc;
}
