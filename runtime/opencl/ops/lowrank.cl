// orthonormalize: the CPU's modified Gram–Schmidt over the columns of a row-major [m, r]
// matrix, applied twice, with its dot products in double and its rounding of each update to
// float. One work-group walks the columns in order; its items share each column's rows
// (item l owns the rows ≡ l mod ORTHO_WG, so an item only ever reads what it wrote and only
// the dot products need a barrier). The dot products sum in a tree, not in row order, so
// results agree with the CPU's within rounding.
#ifdef cl_khr_fp64
#define ORTHO_WG 64

// Σ over rows of a[row][i] · a[row][j], in double; every item gets the sum.
double column_dot(global const float *a, long m, long r, long i, long j, local double *part) {
  const size_t l = get_local_id(0);
  double s = 0;
  for (long row = l; row < m; row += ORTHO_WG) s += (double)a[row * r + i] * a[row * r + j];
  part[l] = s;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (size_t h = ORTHO_WG / 2; h > 0; h /= 2) {
    if (l < h) part[l] += part[l + h];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const double sum = part[0];
  barrier(CLK_LOCAL_MEM_FENCE);  // every item has read it before the next call overwrites part
  return sum;
}

kernel void orthonormalize_f32(OUT(float, a), const long m, const long r) {
  local double part[ORTHO_WG];
  global float *p = VIEW(a);
  const long l = get_local_id(0);
  for (long j = 0; j < r; ++j) {
    const double before = sqrt(column_dot(p, m, r, j, j, part));
    for (int pass = 0; pass < 2; ++pass)
      for (long i = 0; i < j; ++i) {
        const double d = column_dot(p, m, r, i, j, part);
        for (long row = l; row < m; row += ORTHO_WG) p[row * r + j] -= (float)(d * p[row * r + i]);
      }
    const double after = sqrt(column_dot(p, m, r, j, j, part));
    // What is left of a column that lies in the span of the earlier ones is rounding noise.
    const double inv = after > 1e-5 * before && after > 0 ? 1.0 / after : 0.0;
    for (long row = l; row < m; row += ORTHO_WG) p[row * r + j] = (float)(p[row * r + j] * inv);
  }
}
#endif
