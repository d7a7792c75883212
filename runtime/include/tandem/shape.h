// Shape of a contiguous, row-major tensor: up to six dimensions, stored inline (no allocation).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

namespace tandem {

class Shape {
 public:
  static constexpr int max_rank = 6;

  Shape() = default;
  /// Throws Error(invalid_argument) for more than max_rank dimensions or a negative one.
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(std::span<const int64_t> dims);

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[static_cast<size_t>(i)]; }
  /// Product of the dimensions (1 for rank 0).
  int64_t numel() const;
  const int64_t* begin() const { return dims_.data(); }
  const int64_t* end() const { return dims_.data() + rank_; }
  /// "[64,1,28,28]".
  std::string str() const;

  bool operator==(const Shape& o) const;

 private:
  std::array<int64_t, max_rank> dims_{};
  int rank_ = 0;
};

/// An activation as [N][C][inner]: the channel is dimension 1, inner the product of the rest
/// (what per-channel ops such as a bias see, on every backend).
struct Planes {
  int64_t n, c, inner;
};
Planes planes(const Shape& s);

/// A tensor seen around one axis as [outer][n][inner] (what softmax, slices and concatenations
/// along an axis see, on every backend).
struct AxisSplit {
  int64_t outer, n, inner;
};
/// axis in [0, rank).
AxisSplit split_at(const Shape& s, int axis);
/// axis counted from the end when negative; −1 when it is outside the rank.
int normalize_axis(int axis, int rank);

}  // namespace tandem
