// IDX reader: gzip or plain, validated before anything is trusted.
#include <zlib.h>

#include <filesystem>
#include <string>

#include "tandem/error.h"
#include "tandem/nn/data.h"

namespace tandem::nn {
namespace {

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw Error(ErrorKind::io, "", "read " + path, what);
}

// The whole (decompressed) file. gzread reads plain files too.
std::vector<uint8_t> slurp(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) bad(path, "cannot open");
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int errnum = 0;
      const std::string msg = gzerror(f, &errnum);
      gzclose(f);
      bad(path, "corrupt compressed data (" + msg + ")");
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
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
  return d;
}

Dataset head(const Dataset& d, int64_t n) {
  Dataset h = d;
  h.count = std::min(n, d.count);
  h.images.resize(static_cast<size_t>(h.count * d.rows * d.cols));
  h.labels.resize(static_cast<size_t>(h.count));
  return h;
}

}  // namespace tandem::nn
