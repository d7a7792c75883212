#include "report/charts.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "report/svg.h"

namespace tandem::report {
namespace {

constexpr double kLeft = 70, kTop = 40, kBottom = 56;

void axes(Svg& svg, const Scale& x, const Scale& y, bool x_ticks) {
  svg.line(x.px0, y.px0, x.px1, y.px0, "#444");
  svg.line(x.px0, y.px0, x.px0, y.px1, "#444");
  for (double v : y.ticks()) {
    const double py = y.map(v);
    svg.line(x.px0, py, x.px1, py, "#e4e4e4");
    svg.text(x.px0 - 6, py + 4, short_number(v), 11, "end");
  }
  if (x_ticks)
    for (double v : x.ticks()) {
      const double px = x.map(v);
      svg.line(px, y.px0, px, y.px1, "#e4e4e4");
      svg.text(px, y.px0 + 16, short_number(v), 11, "middle");
    }
}

}  // namespace

std::string bar_chart_svg(const BarChart& c) {
  const double legend_w = 190,
               plot_w = std::max(
                   360.0, 60.0 * static_cast<double>(c.categories.size() * std::max<size_t>(1, c.series.size())));
  const double width = kLeft + plot_w + legend_w, height = 360;
  Svg svg(width, height);
  double lo = 0, hi = 0;
  for (const BarSeries& s : c.series)
    for (const auto& v : s.values)
      if (v && *v > 0) lo = lo == 0 ? *v : std::min(lo, *v), hi = std::max(hi, *v);
  if (hi <= 0) lo = 1, hi = 10;
  const bool log = hi / lo > 30;
  Scale y{0, hi * 1.1, height - kBottom, kTop, false};
  if (log) {
    const auto [a, b] = decade_range(lo, hi);
    y = Scale{a, b, height - kBottom, kTop, true};
  }
  const Scale x{0, 1, kLeft, kLeft + plot_w, false};
  svg.text(width / 2, 22, c.title, 14, "middle");
  axes(svg, x, y, false);
  svg.text(18, (kTop + height - kBottom) / 2, c.y_label + (log ? " (log scale)" : ""), 12, "middle", -90);
  const size_t n = std::max<size_t>(1, c.series.size());
  const double group_w = plot_w / static_cast<double>(std::max<size_t>(1, c.categories.size()));
  const double bar_w = group_w * 0.8 / static_cast<double>(n);
  for (size_t s = 0; s < c.series.size(); ++s) {
    const BarSeries& ser = c.series[s];
    const std::string fill = ser.modeled ? "url(#" + c.id + "-hatch" + std::to_string(s) + ")" : palette(s);
    if (ser.modeled) svg.hatch(c.id + "-hatch" + std::to_string(s), palette(s));
    for (size_t k = 0; k < c.categories.size() && k < ser.values.size(); ++k) {
      const double bx = kLeft + group_w * static_cast<double>(k) + group_w * 0.1 + bar_w * static_cast<double>(s);
      if (!ser.values[k] || *ser.values[k] <= 0) {
        svg.text(bx + bar_w / 2, y.px0 - 4, "n/a", 9, "middle", -90, "#888");
        continue;
      }
      const double top = y.map(*ser.values[k]);
      svg.rect(bx, top, bar_w, y.px0 - top, fill,
               "stroke=\"" + palette(s) + "\"" + (ser.modeled ? " stroke-dasharray=\"4 2\"" : ""));
    }
  }
  for (size_t k = 0; k < c.categories.size(); ++k)
    svg.text(kLeft + group_w * (static_cast<double>(k) + 0.5), height - kBottom + 18, c.categories[k], 12, "middle");
  for (size_t s = 0; s < c.series.size(); ++s) {  // legend
    const double ly = kTop + 22.0 * static_cast<double>(s);
    const double lx = kLeft + plot_w + 16;
    svg.rect(lx, ly, 14, 14, c.series[s].modeled ? "url(#" + c.id + "-hatch" + std::to_string(s) + ")" : palette(s),
             "stroke=\"" + palette(s) + "\"");
    svg.text(lx + 20, ly + 12, c.series[s].name + (c.series[s].modeled ? " (modeled)" : " (measured)"), 12);
  }
  return svg.str();
}

std::string roofline_svg(const Roofline& c) {
  const double width = 640, height = 420, plot_w = width - kLeft - 30;
  Svg svg(width, height);
  double xmin = 1e300, xmax = 0, ymin = 1e300, ymax = 0;
  for (const RoofPoint& p : c.points)
    if (p.intensity > 0 && p.gflops > 0) {
      xmin = std::min(xmin, p.intensity), xmax = std::max(xmax, p.intensity);
      ymin = std::min(ymin, p.gflops), ymax = std::max(ymax, p.gflops);
    }
  if (c.peak_gflops > 0) ymax = std::max(ymax, c.peak_gflops), ymin = std::min(ymin, c.peak_gflops);
  if (c.peak_gflops > 0 && c.bandwidth_gbs > 0) {  // keep the ridge point in view
    const double ridge = c.peak_gflops / c.bandwidth_gbs;
    xmin = std::min(xmin, ridge), xmax = std::max(xmax, ridge);
  }
  if (xmax <= 0) xmin = 0.1, xmax = 10;
  if (ymax <= 0) ymin = 0.1, ymax = 10;
  const auto [x0, x1] = decade_range(xmin / 2, xmax * 2);
  const auto [y0, y1] = decade_range(ymin / 2, ymax * 2);
  const Scale x{x0, x1, kLeft, kLeft + plot_w, true};
  const Scale y{y0, y1, height - kBottom, kTop, true};
  svg.text(width / 2, 22, c.title + (c.modeled ? " (modeled)" : " (measured)"), 14, "middle");
  axes(svg, x, y, true);
  svg.text(kLeft + plot_w / 2, height - 16, "arithmetic intensity, FLOP/byte (log)", 12, "middle");
  svg.text(18, (kTop + height - kBottom) / 2, "GFLOP/s (log)", 12, "middle", -90);
  const std::string dash = c.modeled ? "6 3" : "";
  std::vector<std::pair<double, double>> roof;
  for (int i = 0; i <= 64; ++i) {  // sampled in log space: min() has one corner, which a sample lands near
    const double xi = x0 * std::pow(x1 / x0, i / 64.0);
    double r = c.peak_gflops > 0 ? c.peak_gflops : 1e300;
    if (c.bandwidth_gbs > 0) r = std::min(r, xi * c.bandwidth_gbs);
    if (r >= 1e300 || r < y0 || r > y1) continue;
    roof.emplace_back(x.map(xi), y.map(r));
  }
  if (c.peak_gflops > 0 && c.bandwidth_gbs > 0) {  // the exact corner
    const double ridge = c.peak_gflops / c.bandwidth_gbs;
    roof.emplace_back(x.map(ridge), y.map(c.peak_gflops));
    std::sort(roof.begin(), roof.end());
  }
  if (!roof.empty()) svg.polyline(roof, "#000", 2, dash);
  if (c.peak_gflops > 0 && c.peak_gflops <= y1)  // the roofs' values, at their right and left ends
    svg.text(x.px1 - 4, y.map(c.peak_gflops) - 5, short_number(c.peak_gflops) + " GFLOP/s peak", 11, "end");
  if (c.bandwidth_gbs > 0 && roof.size() > 8) {  // along the slanted roof, a third of the way up
    const auto& [ax, ay] = roof[roof.size() / 8];
    const auto& [bx, by] = roof[roof.size() / 8 + 2];
    if (by < ay)
      svg.text(ax, ay - 6, short_number(c.bandwidth_gbs) + " GB/s", 11, "start",
               std::atan2(by - ay, bx - ax) * 180 / M_PI);
  }
  double ny = kTop + 14;
  if (c.peak_gflops <= 0)
    svg.text(kLeft + 8, ny, "peak FLOP/s unknown: no flat roof", 11, "start", 0, "#a00"), ny += 14;
  if (c.bandwidth_gbs <= 0)
    svg.text(kLeft + 8, ny, "bandwidth unknown: no slanted roof", 11, "start", 0, "#a00"), ny += 14;
  if (!c.roof_note.empty()) svg.text(kLeft + 8, ny, c.roof_note, 10, "start", 0, "#555");
  // Labels go to the first of a few spots beside their point that no earlier label covers.
  std::vector<std::array<double, 4>> taken;  // x0, y0, x1, y1
  for (size_t i = 0; i < c.points.size(); ++i) {
    const RoofPoint& p = c.points[i];
    if (p.intensity <= 0 || p.gflops <= 0) continue;
    const double px = x.map(p.intensity), py = y.map(p.gflops);
    svg.circle(px, py, 4, c.modeled ? "#fff" : palette(i), palette(i));
    const double w = 6.0 * static_cast<double>(p.label.size()), h = 11;
    double lx = px + 6, ly = py - 5;
    for (double dy : {-5.0, 12.0, -17.0, 24.0, -29.0, 36.0}) {
      lx = px + 6, ly = py + dy;
      const bool clear = std::none_of(taken.begin(), taken.end(), [&](const std::array<double, 4>& b) {
        return lx < b[2] && lx + w > b[0] && ly - h < b[3] && ly > b[1];
      });
      if (clear) break;
    }
    taken.push_back({lx, ly - h, lx + w, ly});
    svg.text(lx, ly, p.label, 10, "start", 0, palette(i));
  }
  return svg.str();
}

std::string line_chart_svg(const std::vector<LinePanel>& panels) {
  const double width = 720, panel_h = 300, legend_w = 170, plot_w = width - kLeft - legend_w;
  Svg svg(width, panel_h * static_cast<double>(std::max<size_t>(1, panels.size())));
  for (size_t k = 0; k < panels.size(); ++k) {
    const LinePanel& p = panels[k];
    const double top = panel_h * static_cast<double>(k);
    double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
    for (const LineSeries& s : p.series)
      for (const auto& [x, y] : s.points)
        if (std::isfinite(x) && std::isfinite(y))
          x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    if (x1 < x0) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    if (x1 == x0) x1 = x0 + 1;
    if (y0 >= 0) y0 = 0;
    if (y1 <= y0) y1 = y0 + 1;
    const Scale x{x0, x1, kLeft, kLeft + plot_w, false};
    const Scale y{y0, y1 + 0.05 * (y1 - y0), top + panel_h - kBottom, top + kTop, false};
    svg.text(kLeft + plot_w / 2, top + 22, p.title, 14, "middle");
    axes(svg, x, y, true);
    svg.text(kLeft + plot_w / 2, top + panel_h - 16, p.x_label, 12, "middle");
    svg.text(18, top + (kTop + panel_h - kBottom) / 2, p.y_label, 12, "middle", -90);
    for (size_t s = 0; s < p.series.size(); ++s) {
      std::vector<std::pair<double, double>> px;
      for (const auto& [a, b] : p.series[s].points)
        if (std::isfinite(a) && std::isfinite(b)) px.emplace_back(x.map(a), y.map(b));
      svg.polyline(px, palette(s), 1.5);
      if (p.series[s].markers)
        for (const auto& [a, b] : px) svg.circle(a, b, 3, palette(s));
      const double ly = top + kTop + 22.0 * static_cast<double>(s), lx = kLeft + plot_w + 16;
      svg.line(lx, ly + 7, lx + 16, ly + 7, palette(s), 2);
      svg.text(lx + 22, ly + 11, p.series[s].name, 12);
    }
  }
  return svg.str();
}

}  // namespace tandem::report
