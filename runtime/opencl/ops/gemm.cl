// c = alpha·op(a)·op(b) + beta·c, f32, row-major. TILE×TILE work-groups stage a tile of each
// operand in local memory, so each element is fetched from global memory K/TILE times instead
// of K. Sums in float, like sgemm.
// Grid dimension 2 is the matrix of a batch (gemm_batched: those of a, b and c sa, sb and sc
// elements apart; gemm: one matrix).

kernel void gemm_f32(IN(float, a), IN(float, b), OUT(float, c), const int M, const int N, const int K, const int ta,
                     const int tb, const float alpha, const float beta, const ulong sa, const ulong sb,
                     const ulong sc) {
  local float as[TILE][TILE];
  local float bs[TILE][TILE + 1];  // padded: column reads hit distinct banks on GPUs
  const size_t batch = get_global_id(2);
  global const float *A = VIEW(a) + batch * sa, *B = VIEW(b) + batch * sb;
  const int col = get_global_id(0), row = get_global_id(1);
  const int lc = get_local_id(0), lr = get_local_id(1);
  const long lda = ta ? M : K, ldb = tb ? K : N;
  float acc = 0.0f;
  for (int t = 0; t < K; t += TILE) {
    const int ka = t + lc, kb = t + lr;
    as[lr][lc] = (row < M && ka < K) ? (ta ? A[(long)ka * lda + row] : A[(long)row * lda + ka]) : 0.0f;
    bs[lr][lc] = (col < N && kb < K) ? (tb ? B[(long)col * ldb + kb] : B[(long)kb * ldb + col]) : 0.0f;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int k = 0; k < TILE; ++k) acc += as[lr][k] * bs[k][lc];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (row < M && col < N) {
    global float *C = VIEW(c) + batch * sc + (long)row * N + col;
    // beta = 0 does not read c, which may hold anything (NaN included), as in BLAS.
    *C = beta != 0.0f ? alpha * acc + beta * *C : alpha * acc;
  }
}
