// Row-major coordinates mapped to element offsets through strides: the index arithmetic of
// permute, broadcast_binary and sum_to (layout.cu, broadcast.cu), built on the host, simplified,
// then evaluated per element on the device.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "tandem/shape.h"

namespace tandem::cuda {

/// Element e of a row-major walk over dim[0..rank) lies at offset Σ coordinate_k · stride[j][k]
/// in each of the N operands. I is uint32_t where the tensors fit (a 64-bit division is a long
/// loop), else int64_t.
template <class I, int N>
struct StridedIndex {
  int rank = 0;
  I dim[Shape::max_rank]{};
  I stride[N][Shape::max_rank]{};

  __host__ __device__ void offsets(I e, I (&off)[N]) const {
    for (int j = 0; j < N; ++j) off[j] = 0;
    for (int k = rank - 1; k >= 0; --k) {
      const I q = e / dim[k], c = e - q * dim[k];
      for (int j = 0; j < N; ++j) off[j] += c * stride[j][k];
      e = q;
    }
  }

  /// Appends a dimension (the new last one) with its stride in each operand.
  void push(int64_t size, const int64_t (&st)[N]) {
    dim[rank] = static_cast<I>(size);
    for (int j = 0; j < N; ++j) stride[j][rank] = static_cast<I>(st[j]);
    ++rank;
  }

  /// The same offsets with fewer dimensions: those of size 1 dropped, and each merged into the one
  /// before it where every operand steps over the pair as over one dimension
  /// (stride[k − 1] = stride[k]·dim[k]) — a contiguous copy ends as one dimension of stride 1.
  StridedIndex simplified() const {
    StridedIndex out;
    for (int k = 0; k < rank; ++k) {
      if (dim[k] == 1) continue;
      const int last = out.rank - 1;
      bool merge = last >= 0;
      for (int j = 0; merge && j < N; ++j) merge = out.stride[j][last] == stride[j][k] * dim[k];
      if (merge) {
        out.dim[last] *= dim[k];
        for (int j = 0; j < N; ++j) out.stride[j][last] = stride[j][k];
        continue;
      }
      out.dim[out.rank] = dim[k];
      for (int j = 0; j < N; ++j) out.stride[j][out.rank] = stride[j][k];
      ++out.rank;
    }
    return out;
  }

  /// The same index in a narrower type (every size and offset must fit it).
  template <class J>
  StridedIndex<J, N> as() const {
    StridedIndex<J, N> out;
    out.rank = rank;
    for (int k = 0; k < rank; ++k) {
      out.dim[k] = static_cast<J>(dim[k]);
      for (int j = 0; j < N; ++j) out.stride[j][k] = static_cast<J>(stride[j][k]);
    }
    return out;
  }
};

/// Whether element counts up to n index in 32 bits.
inline bool fits32(int64_t n) { return n <= INT32_MAX; }

}  // namespace tandem::cuda
