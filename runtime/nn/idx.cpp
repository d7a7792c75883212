// IDX reader: gzip or plain, validated before anything is trusted.
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>

#include "tandem/compression/wire.h"
#include "tandem/error.h"
#include "tandem/file.h"
#include "tandem/nn/data.h"

namespace tandem::nn {
namespace {

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw Error(ErrorKind::io, "", "read " + path, what);
}

// The bytes a file with this header holds in all, once its header has arrived (0 before).
uint64_t promised_size(const std::vector<uint8_t>& head) {
  if (head.size() < 4 || head[3] < 1 || head[3] > 4) return 0;
  const size_t header = 4 + 4 * size_t{head[3]};
  if (head.size() < header) return 0;
  uint64_t total = 1;
  for (size_t i = 4; i < header; i += 4)
    total *= std::max<uint32_t>(1, (uint32_t{head[i]} << 24) | (uint32_t{head[i + 1]} << 16) |
                                       (uint32_t{head[i + 2]} << 8) | head[i + 3]);
  return header + std::min<uint64_t>(total, uint64_t{1} << 35);
}

// The (decompressed) file, read no further than its header promises (and one byte past, for
// parse_idx to name trailing data): a decompression bomb or an endless stream stops there.
// gzread reads plain files too; only regular files are opened (a FIFO would block).
std::vector<uint8_t> slurp(const std::string& path) {
  require_regular_file(path, "read " + path);
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) bad(path, "cannot open");
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  for (;;) {
    const uint64_t promised = promised_size(out);
    const size_t want = promised == 0 ? 16 : static_cast<size_t>(std::min<uint64_t>(sizeof buf, promised + 1 - out.size()));
    const int n = want == 0 ? 0 : gzread(f, buf, static_cast<unsigned>(want));
    if (n < 0) {
      int errnum = 0;
      const std::string msg = gzerror(f, &errnum);
      gzclose(f);
      bad(path, "corrupt compressed data (" + msg + ")");
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  if (const uint64_t promised = promised_size(out); promised != 0 && out.size() > promised) {
    gzclose(f);  // trailing data: parse_idx names it
    return out;
  }
  // A truncated gzip stream reads as a short file; gzclose reports the missing trailer.
  const int rc = gzclose(f);
  if (rc != Z_OK && rc != Z_BUF_ERROR) bad(path, "corrupt compressed data (zlib error " + std::to_string(rc) + ")");
  if (rc == Z_BUF_ERROR) bad(path, "compressed data ends early (truncated file)");
  return out;
}

}  // namespace

IdxArray read_idx(const std::string& path) { return parse_idx(slurp(path), path); }

IdxArray parse_idx(std::span<const uint8_t> raw, const std::string& path) {
  if (raw.size() < 4) bad(path, "too short for an IDX header (" + std::to_string(raw.size()) + " bytes)");
  if (raw[0] != 0 || raw[1] != 0) bad(path, "bad magic: not an IDX file");
  if (raw[2] != 0x08)
    bad(path, "element type 0x" + std::to_string(raw[2]) + " unsupported (only unsigned bytes, 0x08)");
  const int rank = raw[3];
  if (rank < 1 || rank > 4) bad(path, "rank " + std::to_string(rank) + " outside 1..4");
  const size_t header = 4 + 4 * static_cast<size_t>(rank);
  if (raw.size() < header)
    bad(path, "header cut short: rank " + std::to_string(rank) + " needs " + std::to_string(header) + " bytes");
  IdxArray a;
  uint64_t total = 1;
  for (int i = 0; i < rank; ++i) {
    const uint8_t* p = raw.data() + 4 + 4 * static_cast<size_t>(i);
    const uint32_t d = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    if (d == 0 || d > (1u << 28)) bad(path, "dimension " + std::to_string(i) + " is " + std::to_string(d));
    total *= d;
    if (total > (uint64_t{1} << 34)) bad(path, "more than 2^34 elements");
    a.dims.push_back(d);
  }
  if (raw.size() - header != total)
    bad(path, "holds " + std::to_string(raw.size() - header) + " data bytes; its dimensions need " +
                  std::to_string(total) + (raw.size() - header < total ? " (truncated)" : " (trailing bytes)"));
  a.data.assign(raw.begin() + static_cast<std::ptrdiff_t>(header), raw.end());
  return a;
}

namespace {

// "<dir>/<name>.gz" if present, else "<dir>/<name>".
std::string find_file(const std::string& dir, const std::string& name) {
  const std::filesystem::path gz = std::filesystem::path(dir) / (name + ".gz");
  if (std::filesystem::exists(gz)) return gz.string();
  const std::filesystem::path plain = std::filesystem::path(dir) / name;
  if (std::filesystem::exists(plain)) return plain.string();
  throw Error(ErrorKind::io, "", "load dataset", "neither " + gz.string() + " nor " + plain.string() + " exists");
}

}  // namespace

Dataset load_mnist(const std::string& dir, const std::string& split, int classes) {
  const std::string img_path = find_file(dir, split + "-images-idx3-ubyte");
  const std::string lbl_path = find_file(dir, split + "-labels-idx1-ubyte");
  IdxArray img = read_idx(img_path), lbl = read_idx(lbl_path);
  if (img.dims.size() != 3)
    bad(img_path, "expected rank 3 (count, rows, cols), found rank " + std::to_string(img.dims.size()));
  if (lbl.dims.size() != 1) bad(lbl_path, "expected rank 1 (count), found rank " + std::to_string(lbl.dims.size()));
  if (img.dims[0] != lbl.dims[0])
    bad(lbl_path, "has " + std::to_string(lbl.dims[0]) + " labels but " + img_path + " has " +
                      std::to_string(img.dims[0]) + " images");
  Dataset d;
  d.count = img.dims[0];
  d.rows = img.dims[1];
  d.cols = img.dims[2];
  d.classes = classes;
  d.images = std::move(img.data);
  d.labels.resize(lbl.data.size());
  for (size_t i = 0; i < lbl.data.size(); ++i) {
    if (lbl.data[i] >= classes)
      bad(lbl_path, "label " + std::to_string(lbl.data[i]) + " of sample " + std::to_string(i) + " is not below " +
                        std::to_string(classes) + " classes");
    d.labels[i] = lbl.data[i];
  }
  d.source = img_path;
  return d;
}

Dataset head(const Dataset& d, int64_t n) {
  Dataset h = d;
  h.count = std::min(n, d.count);
  h.images.resize(std::min(d.images.size(), static_cast<size_t>(h.count * d.rows * d.cols)));
  h.labels.resize(std::min(d.labels.size(), static_cast<size_t>(h.count)));
  h.tokens.resize(std::min(d.tokens.size(), static_cast<size_t>(h.count * d.rows * d.cols)));
  if (h.count < d.count) h.source = d.source + " (first " + std::to_string(h.count) + ")";
  return h;
}

DataFingerprint fingerprint(const Dataset& d) {
  uint32_t crc = compression::crc32c(d.labels.data(), d.labels.size() * sizeof(int32_t),
                                     compression::crc32c(d.images.data(), d.images.size()));
  if (d.is_tokens()) crc = compression::crc32c(d.tokens.data(), d.tokens.size() * sizeof(int32_t), crc);
  return {d.source.empty() ? "data in memory" : d.source, d.count, d.rows, d.cols, crc};
}

std::string DataFingerprint::str() const {
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08x", crc32c);
  return source + ": " + std::to_string(count) + " samples of " + std::to_string(rows) + "x" + std::to_string(cols) +
         ", CRC-32C " + hex;
}

}  // namespace tandem::nn
