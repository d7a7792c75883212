// Datasets in the MNIST IDX format (gzip-compressed or plain), held in host memory.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tandem::nn {

/// An IDX file: unsigned-byte elements with their dimensions.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

/// Reads an IDX file (.gz or not). Validates the magic (element type 0x08, rank 1–4), every
/// dimension and the exact length; throws Error(io) naming the file and what is wrong.
IdxArray read_idx(const std::string& path);
/// The same checks on a file's (decompressed) bytes; origin names it in errors.
IdxArray parse_idx(std::span<const uint8_t> bytes, const std::string& origin);

/// Images with labels, e.g. Fashion-MNIST's training split.
struct Dataset {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> images;  ///< count × rows × cols, row-major
  std::vector<int32_t> labels;  ///< count values in [0, classes)
  int classes = 10;
};

/// Loads `<dir>/<split>-images-idx3-ubyte[.gz]` and `<dir>/<split>-labels-idx1-ubyte[.gz]`
/// (split "train" or "t10k"). Checks that counts agree and every label is below `classes`.
Dataset load_mnist(const std::string& dir, const std::string& split, int classes = 10);

/// Where Debian's dataset-fashion-mnist package installs the data.
inline constexpr const char* default_fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";

/// The first n samples (for quick runs and tests).
Dataset head(const Dataset& d, int64_t n);

}  // namespace tandem::nn
