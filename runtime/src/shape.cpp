#include "tandem/shape.h"

#include "tandem/error.h"

namespace tandem {

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::span<const int64_t>(dims.begin(), dims.size())) {}

Shape::Shape(std::span<const int64_t> dims) {
  if (dims.size() > static_cast<size_t>(max_rank))
    throw Error(ErrorKind::invalid_argument, "", "shape",
                "rank " + std::to_string(dims.size()) + " exceeds the maximum of " + std::to_string(max_rank));
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0)
      throw Error(ErrorKind::invalid_argument, "", "shape",
                  "dimension " + std::to_string(i) + " is negative (" + std::to_string(dims[i]) + ")");
    dims_[i] = dims[i];
  }
  rank_ = static_cast<int>(dims.size());
  // Bound the element count so that byte sizes (count × 4) can never overflow.
  int64_t n = 1;
  for (size_t i = 0; i < dims.size(); ++i)
    if (__builtin_mul_overflow(n, dims[i], &n) || n > (int64_t{1} << 60))
      throw Error(ErrorKind::invalid_argument, "", "shape", str() + " has more than 2^60 elements");
}

Planes planes(const Shape& s) {
  const int64_t nc = s[0] * s[1];
  return {s[0], s[1], nc == 0 ? 0 : s.numel() / nc};
}

AxisSplit split_at(const Shape& s, int axis) {
  AxisSplit a{1, s[axis], 1};
  for (int i = 0; i < axis; ++i) a.outer *= s[i];
  for (int i = axis + 1; i < s.rank(); ++i) a.inner *= s[i];
  return a;
}

int normalize_axis(int axis, int rank) {
  const int a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank ? a : -1;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<size_t>(i)];
  return n;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ",";
    s += std::to_string(dims_[static_cast<size_t>(i)]);
  }
  return s + "]";
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[static_cast<size_t>(i)] != o.dims_[static_cast<size_t>(i)]) return false;
  return true;
}

}  // namespace tandem
