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
  std::string source;  ///< where it came from, for messages: "<dir>/train-images-idx3-ubyte.gz (first 4000)"
};

/// What identifies a dataset's contents in a checkpoint: count, shape and a CRC-32C of its
/// images and labels (the source only names it: moved files are the same data). A resumed run
/// must train on the same data.
struct DataFingerprint {
  std::string source;
  int64_t count = 0, rows = 0, cols = 0;
  uint32_t crc32c = 0;
  bool same_data(const DataFingerprint& o) const {
    return count == o.count && rows == o.rows && cols == o.cols && crc32c == o.crc32c;
  }
  /// "<source>: 4000 samples of 28x28, CRC-32C 1a2b3c4d"
  std::string str() const;
};
DataFingerprint fingerprint(const Dataset& d);

/// Loads `<dir>/<split>-images-idx3-ubyte[.gz]` and `<dir>/<split>-labels-idx1-ubyte[.gz]`
/// (split "train" or "t10k"). Checks that counts agree and every label is below `classes`.
Dataset load_mnist(const std::string& dir, const std::string& split, int classes = 10);

/// Where Debian's dataset-fashion-mnist package installs the data.
inline constexpr const char* default_fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";

/// The first n samples (for quick runs and tests).
Dataset head(const Dataset& d, int64_t n);

}  // namespace tandem::nn
