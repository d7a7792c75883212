// Report charts drawn with report/svg.h: grouped bars (one group per category, one bar per
// series) and a roofline. Series or roofs that are modeled rather than measured are drawn
// hatched / dashed and say "modeled" in their legend, so the two are never confused.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tandem::report {

struct BarSeries {
  std::string name;
  bool modeled = false;
  std::vector<std::optional<double>> values;  ///< one per category; nullopt: no figure (a note is drawn)
};

struct BarChart {
  std::string id;  ///< unique within a page: prefixes the chart's pattern ids
  std::string title, y_label;
  std::vector<std::string> categories;
  std::vector<BarSeries> series;
};

/// Log y axis when the positive values span more than a factor of 30, else linear from 0.
std::string bar_chart_svg(const BarChart& chart);

struct RoofPoint {
  std::string label;
  double intensity = 0;  ///< FLOP per byte
  double gflops = 0;     ///< achieved GFLOP/s
};

struct Roofline {
  std::string title;
  double peak_gflops = 0;    ///< 0: unknown (no flat roof drawn)
  double bandwidth_gbs = 0;  ///< 0: unknown (no slanted roof drawn)
  bool modeled = false;      ///< the points and roofs come from a performance model
  std::string roof_note;     ///< where the roof figures come from
  std::vector<RoofPoint> points;
};

/// Log-log: attainable GFLOP/s = min(peak, intensity × bandwidth), and each point labeled.
std::string roofline_svg(const Roofline& chart);

struct LineSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  ///< (x, y), x increasing
  bool markers = false;                           ///< a dot at each point (few points)
};

/// One panel of a line chart: linear axes over the series' ranges (y from 0 when all are ≥ 0).
struct LinePanel {
  std::string title, x_label, y_label;
  std::vector<LineSeries> series;
};

/// Panels stacked top to bottom in one SVG, each with its axes and legend.
std::string line_chart_svg(const std::vector<LinePanel>& panels);

}  // namespace tandem::report
