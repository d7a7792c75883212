// Token data for masked-token training: token files with their vocabulary, bytes of text as
// tokens, synthetic tokens; sequences and BERT's masking.
#include <algorithm>
#include <filesystem>
#include <random>

#include "tandem/error.h"
#include "tandem/file.h"
#include "tandem/nn/data.h"
#include "tandem/nn/model.h"

namespace tandem::nn {
namespace {

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw Error(ErrorKind::io, "", "token data " + path, what);
}

// The vocabulary's size and the line that reads "[MASK]".
std::pair<int64_t, int32_t> read_vocabulary(const std::string& path) {
  const std::string text = read_file(path, "vocabulary " + path, uint64_t{1} << 30);
  int64_t lines = 0, mask = -1;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + at, end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == "[MASK]") {
      if (mask >= 0) bad(path, "lists [MASK] twice (lines " + std::to_string(mask + 1) + " and " + std::to_string(lines + 1) + ")");
      mask = lines;
    }
    ++lines, at = end + 1;
  }
  if (lines < 2) bad(path, "a vocabulary needs at least two tokens, one of them [MASK]");
  if (mask < 0) bad(path, "has no line \"[MASK]\" (the masked-token loss needs its id)");
  if (lines > int64_t{1} << 24) bad(path, "more than 16,777,216 tokens");
  return {lines, static_cast<int32_t>(mask)};
}

// splitmix64: a well-mixed 64-bit value from a counter, for draws keyed by position.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
double unit(uint64_t x) { return static_cast<double>(x >> 11) * 0x1.0p-53; }

}  // namespace

TokenCorpus read_token_file(const std::string& path, const std::string& vocab_path, int bits) {
  if (bits != 16 && bits != 32) throw Error(ErrorKind::invalid_argument, "", "token data " + path, "ids are 16 or 32 bits, not " + std::to_string(bits));
  const auto [vocab, mask] = read_vocabulary(vocab_path);
  const std::string raw = read_file(path, "token data " + path);
  const size_t width = static_cast<size_t>(bits / 8);
  if (raw.empty()) bad(path, "is empty");
  if (raw.size() % width != 0)
    bad(path, std::to_string(raw.size()) + " bytes are not a whole number of " + std::to_string(bits) + "-bit ids");
  if (bits == 16 && vocab > 65536) bad(path, "16-bit ids cannot name the " + std::to_string(vocab) + " tokens of " + vocab_path);
  TokenCorpus c;
  c.ids.resize(raw.size() / width);
  const auto* b = reinterpret_cast<const unsigned char*>(raw.data());
  for (size_t i = 0; i < c.ids.size(); ++i) {
    uint32_t v = 0;
    for (size_t k = width; k-- > 0;) v = (v << 8) | b[i * width + k];  // little-endian
    if (v >= static_cast<uint64_t>(vocab))
      bad(path, "id " + std::to_string(v) + " at position " + std::to_string(i) + " is not below the " +
                    std::to_string(vocab) + " tokens of " + vocab_path);
    c.ids[i] = static_cast<int32_t>(v);
  }
  c.vocab = vocab, c.mask_id = mask;
  c.source = path;
  return c;
}

TokenCorpus read_bytes_as_tokens(const std::string& path) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const fs::directory_entry& e : fs::directory_iterator(path, ec))
      if (e.is_regular_file() && e.path().extension() != ".dat") files.push_back(e.path().string());
    if (ec) bad(path, "cannot list the directory: " + ec.message());
    std::sort(files.begin(), files.end());
    if (files.empty()) bad(path, "holds no regular files");
  } else {
    files = {path};
  }
  TokenCorpus c;
  for (const std::string& f : files) {
    const std::string text = read_file(f, "text " + f);
    c.ids.insert(c.ids.end(), reinterpret_cast<const unsigned char*>(text.data()),
                 reinterpret_cast<const unsigned char*>(text.data()) + text.size());
  }
  if (c.ids.empty()) bad(path, "is empty");
  c.vocab = byte_vocab, c.mask_id = 256;
  c.source = path + " (bytes)";
  return c;
}

TokenCorpus synthetic_tokens(int64_t count, int64_t vocab, uint64_t seed) {
  if (count < 1 || vocab < 2)
    throw Error(ErrorKind::invalid_argument, "", "synthetic tokens", "need at least one token and a vocabulary of two");
  TokenCorpus c;
  c.ids.resize(static_cast<size_t>(count));
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(vocab - 2));
  for (int32_t& v : c.ids) v = id(rng);
  c.vocab = vocab, c.mask_id = static_cast<int32_t>(vocab - 1);
  c.source = "synthetic tokens (" + std::to_string(count) + ", vocabulary " + std::to_string(vocab) + ", seed " +
             std::to_string(seed) + ")";
  return c;
}

std::pair<Dataset, Dataset> token_datasets(const TokenCorpus& c, int64_t seq, double test_fraction) {
  const int64_t n = seq > 0 ? static_cast<int64_t>(c.ids.size()) / seq : 0;
  if (n < 2)
    throw Error(ErrorKind::invalid_argument, "", "token data " + c.source,
                std::to_string(c.ids.size()) + " tokens make fewer than two sequences of " + std::to_string(seq));
  if (!(test_fraction > 0 && test_fraction < 1))
    throw Error(ErrorKind::invalid_argument, "", "token data " + c.source, "the test fraction must be in (0, 1)");
  const int64_t test = std::clamp<int64_t>(static_cast<int64_t>(static_cast<double>(n) * test_fraction), 1, n - 1);
  auto part = [&](int64_t first, int64_t count, const char* split) {
    Dataset d;
    d.count = count, d.rows = seq, d.cols = 1;
    d.classes = static_cast<int>(c.vocab), d.mask_id = c.mask_id;
    d.tokens.assign(c.ids.begin() + first * seq, c.ids.begin() + (first + count) * seq);
    d.source = c.source + " (" + split + ": sequences " + std::to_string(first) + "–" + std::to_string(first + count - 1) +
               " of " + std::to_string(seq) + ")";
    return d;
  };
  return {part(0, n - test, "train"), part(n - test, test, "test")};
}

int64_t mask_tokens(const int32_t* ids, int64_t n, int64_t vocab, int32_t mask_id, uint64_t key, uint64_t sample,
                    int32_t* input, int32_t* labels) {
  const uint64_t base = mix(key ^ mix(sample));
  int64_t chosen = 0;
  for (int64_t t = 0; t < n; ++t) {
    const uint64_t r = mix(base + static_cast<uint64_t>(t) * 3);
    input[t] = ids[t], labels[t] = ignore_label;
    if (unit(r) >= 0.15) continue;
    ++chosen;
    labels[t] = ids[t];
    const double what = unit(mix(base + static_cast<uint64_t>(t) * 3 + 1));
    if (what < 0.8) input[t] = mask_id;
    else if (what < 0.9) input[t] = static_cast<int32_t>(mix(base + static_cast<uint64_t>(t) * 3 + 2) % static_cast<uint64_t>(vocab));
  }
  if (chosen == 0 && n > 0) {  // every sequence takes part in the loss
    const int64_t t = static_cast<int64_t>(mix(base ^ 0x5bd1e995u) % static_cast<uint64_t>(n));
    labels[t] = ids[t], input[t] = mask_id;
    chosen = 1;
  }
  return chosen;
}

}  // namespace tandem::nn
