// Datasets held in host memory: images in the MNIST IDX format (gzip-compressed or plain), and
// token sequences for masked-token training (a token file with its vocabulary, any text file as
// bytes, or synthetic tokens).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
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

/// Images with labels, e.g. Fashion-MNIST's training split; or token sequences (is_tokens()).
struct Dataset {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> images;  ///< count × rows × cols, row-major
  std::vector<int32_t> labels;  ///< count values in [0, classes)
  int classes = 10;
  /// Token data: `count` sequences of `rows` ids (cols = 1) in [0, classes), the vocabulary's
  /// size; the labels come from masking them (mask_tokens), afresh for every pass.
  std::vector<int32_t> tokens;
  int32_t mask_id = -1;  ///< the [MASK] token's id: ≥ 0 for token data
  bool is_tokens() const { return mask_id >= 0; }
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

/// A stream of token ids with its vocabulary's size and [MASK] id, before it is cut into sequences.
struct TokenCorpus {
  std::vector<int32_t> ids;
  int64_t vocab = 0;
  int32_t mask_id = 0;
  std::string source;
};

/// A token file: little-endian unsigned ids of `bits` (16 or 32) each, one after another (the raw
/// layout of nanoGPT's train.bin), with its vocabulary: a text file of one token per line, line
/// k (from 0) naming id k, one line "[MASK]". Every id must be below the vocabulary's size; a
/// length that is not a whole number of ids, an id out of range (named with its position), an
/// empty file or a vocabulary without [MASK] is Error(io) naming the file.
TokenCorpus read_token_file(const std::string& path, const std::string& vocab_path, int bits);
/// Bytes as tokens: ids 0–255 the bytes of a file (or of every regular file of a directory, in
/// name order, skipping fortune's .dat indexes), 256 [MASK]; vocabulary 257.
TokenCorpus read_bytes_as_tokens(const std::string& path);
inline constexpr int64_t byte_vocab = 257;
/// `count` ids drawn uniformly from [0, vocab − 1) by a seeded generator; vocab − 1 is [MASK].
TokenCorpus synthetic_tokens(int64_t count, int64_t vocab, uint64_t seed);

/// The corpus cut into sequences of `seq` tokens (a last partial one dropped), the last
/// `test_fraction` of them (at least one) the test split. Error(invalid_argument) when fewer
/// than two sequences fit.
std::pair<Dataset, Dataset> token_datasets(const TokenCorpus& c, int64_t seq, double test_fraction);

/// BERT's masking of one sequence of n ids: each position is chosen with probability 0.15 (at
/// least one per sequence), and a chosen one becomes [MASK] (80%), a random id (10%) or stays
/// (10%); `labels` holds the original id where chosen, ignore_label elsewhere. Drawn from
/// (key, sample, position) alone: a sample's mask does not depend on which batch or rank holds
/// it. Returns how many positions were chosen.
int64_t mask_tokens(const int32_t* ids, int64_t n, int64_t vocab, int32_t mask_id, uint64_t key, uint64_t sample,
                    int32_t* input, int32_t* labels);

/// Debian's fortunes package (fortune-mod's collection, about 2.5 MB of English text): the
/// byte-level corpus of the demo and the benchmarks.
inline constexpr const char* default_text_corpus = "/usr/share/games/fortunes";

}  // namespace tandem::nn
