// Broadcast arithmetic and sum_to, by coordinate: each tensor is read through broadcast_strides
// (0 along its broadcast dimensions), passed with the extents as long8s.

// The offset, through `stride`, of element i of a row-major tensor with extents dims.
ulong offset_of(ulong i, const int rank, const long *dims, const long *stride) {
  ulong off = 0;
  for (int k = rank - 1; k >= 0; --k) {
    off += i % (ulong)dims[k] * (ulong)stride[k];
    i /= (ulong)dims[k];
  }
  return off;
}

// c = a ∘ b (op: BinaryOp's code, 0 add, 1 sub, 2 mul), one work-item per element of c; c may be
// a or b (of c's shape): each item reads its elements before writing its own.
kernel void broadcast_binary_f32(IN(float, a), IN(float, b), OUT(float, c), const int rank, const long8 dims,
                                 const long8 astride, const long8 bstride, const int op, const ulong n) {
  const size_t i = get_global_id(0);
  if (i >= n) return;
  DIMS(dims, d);
  DIMS(astride, sa);
  DIMS(bstride, sb);
  const float x = VIEW(a)[offset_of(i, rank, d, sa)], y = VIEW(b)[offset_of(i, rank, d, sb)];
  VIEW(c)[i] = op == 0 ? x + y : op == 1 ? x - y : x * y;
}

// y = x summed where y broadcasts: one work-item per element j of y. x's extents dims and strides
// xstride; ystride is y's broadcast_strides to x, 0 along the `count` summed coordinates, which
// are visited row-major (x's index order, as on the CPU).
kernel void sum_to_f32(IN(float, x), OUT(float, y), const int rank, const long8 dims, const long8 xstride,
                       const long8 ystride, const ulong m, const ulong count) {
  const size_t j = get_global_id(0);
  if (j >= m) return;
  DIMS(dims, d);
  DIMS(xstride, sx);
  DIMS(ystride, sy);
  long summed[8];
  ulong base = 0;  // the kept coordinates, from j
  for (int k = 0; k < rank; ++k) {
    if (sy[k] != 0) base += j / (ulong)sy[k] % (ulong)d[k] * (ulong)sx[k];
    summed[k] = sy[k] != 0 ? 1 : d[k];  // a kept dimension contributes no summed coordinate
  }
  global const float *X = VIEW(x) + base;
  float sum = 0.0f;
  for (ulong t = 0; t < count; ++t) sum += X[offset_of(t, rank, summed, sx)];
  VIEW(y)[j] = sum;
}
