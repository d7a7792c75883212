// permute and copy_region: data movement, one work-item per element moved, by element size
// (u8, u16, u32: the bits are copied, whatever the dtype).

// permute: element i of y (extents dims, row-major) is x[Σ coordinate_k · xstride_k], the
// strides of x taken in y's dimension order.
// copy_region: element e of the [outer][run] region moves from src_start + o·src_pitch + r to
// dst_start + o·dst_pitch + r (o = e / run, r = e % run; all in elements).
#define LAYOUT_KERNELS(T, suffix)                                                                              \
  kernel void permute_##suffix(IN(T, x), OUT(T, y), const int rank, const long8 dims, const long8 xstride,    \
                               const ulong n) {                                                               \
    const size_t i = get_global_id(0);                                                                        \
    if (i >= n) return;                                                                                       \
    DIMS(dims, d);                                                                                            \
    DIMS(xstride, s);                                                                                         \
    ulong rest = i, off = 0;                                                                                  \
    for (int k = rank - 1; k >= 0; --k) {                                                                     \
      off += rest % (ulong)d[k] * (ulong)s[k];                                                                \
      rest /= (ulong)d[k];                                                                                    \
    }                                                                                                         \
    VIEW(y)[i] = VIEW(x)[off];                                                                                \
  }                                                                                                           \
  kernel void copy_region_##suffix(IN(T, src), OUT(T, dst), const ulong n, const ulong run,                   \
                                   const ulong src_start, const ulong src_pitch, const ulong dst_start,       \
                                   const ulong dst_pitch) {                                                   \
    const size_t e = get_global_id(0);                                                                        \
    if (e >= n) return;                                                                                       \
    const ulong o = e / run, r = e % run;                                                                     \
    VIEW(dst)[dst_start + o * dst_pitch + r] = VIEW(src)[src_start + o * src_pitch + r];                      \
  }

LAYOUT_KERNELS(uchar, u8)
LAYOUT_KERNELS(ushort, u16)
LAYOUT_KERNELS(uint, u32)
