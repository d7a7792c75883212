// A plain-text table for terminal output: columns sized to their widest cell.
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace tandem::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  void print(std::FILE* out = stdout) const {
    std::vector<size_t> width;
    for (const auto& r : rows_)
      for (size_t i = 0; i < r.size(); ++i) {
        if (width.size() <= i) width.push_back(0);
        width[i] = std::max(width[i], display_width(r[i]));
      }
    for (size_t n = 0; n < rows_.size(); ++n) {
      std::string line;
      for (size_t i = 0; i < rows_[n].size(); ++i) {
        line += rows_[n][i];
        if (i + 1 < rows_[n].size()) line += std::string(width[i] - display_width(rows_[n][i]) + 2, ' ');
      }
      std::fprintf(out, "%s\n", line.c_str());
      if (n == 0) {
        size_t total = 0;
        for (size_t w : width) total += w + 2;
        std::fprintf(out, "%s\n", std::string(total - 2, '-').c_str());
      }
    }
  }

 private:
  // Counts UTF-8 code points, so "×" and "µ" take one column.
  static size_t display_width(const std::string& s) {
    return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
  }
  std::vector<std::vector<std::string>> rows_;
};

/// "1.50 GiB", "512 MiB".
inline std::string format_bytes(double b) {
  const char* unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", b, unit[u]);
  return buf;
}

/// printf into a std::string.
template <class... A>
std::string fmt(const char* f, A... a) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a...);
  return buf;
}

}  // namespace tandem::cli
