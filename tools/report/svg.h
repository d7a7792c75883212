// A small SVG writer for report charts (no external dependencies): the few primitives our charts
// use, and axis scales (linear or log) with tick positions. Text is XML-escaped here, so callers
// pass plain strings.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::report {

/// &, <, >, " and ' as XML entities (valid in SVG and HTML text and attribute values).
std::string escape(std::string_view text);

/// A number for an axis or label: 3 significant digits, k/M/G suffixes above 1000 ("1.5k", "20M").
std::string short_number(double v);

class Svg {
 public:
  Svg(double width, double height);

  void rect(double x, double y, double w, double h, const std::string& fill, const std::string& extra = "");
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, double width = 1,
            const std::string& dash = "");
  void polyline(const std::vector<std::pair<double, double>>& points, const std::string& stroke, double width = 1,
                const std::string& dash = "");
  void circle(double cx, double cy, double r, const std::string& fill, const std::string& stroke = "none");
  /// anchor: "start", "middle" or "end"; rotate: degrees about (x, y).
  void text(double x, double y, std::string_view s, double size = 12, const std::string& anchor = "start",
            double rotate = 0, const std::string& fill = "#222");
  /// A diagonally hatched fill of `color` on white, referenced as url(#id): how charts mark modeled series.
  void hatch(const std::string& id, const std::string& color);
  /// Appends markup as is (the caller escapes).
  void raw(std::string markup) { body_ += std::move(markup); }

  std::string str() const;

 private:
  double width_, height_;
  std::string defs_, body_;
};

/// Maps data values to pixels along one axis; log scales need lo > 0.
struct Scale {
  double lo = 0, hi = 1;    ///< data range
  double px0 = 0, px1 = 1;  ///< pixel positions of lo and hi (px1 < px0 for a y axis)
  bool log = false;
  double map(double v) const;
  /// Tick values inside [lo, hi]: decades (with 2 and 5 when the range spans few) on log
  /// scales, 1-2-5 steps on linear ones.
  std::vector<double> ticks() const;
};

/// A log range covering [min, max] rounded out to decades (min, max > 0).
std::pair<double, double> decade_range(double min, double max);

/// Eight distinguishable colors, cycled.
const std::string& palette(size_t i);

}  // namespace tandem::report
