// tandem compare's charts and its self-contained HTML report (inline CSS and SVG, nothing fetched).
#include <algorithm>
#include <cmath>

#include "report/charts.h"
#include "report/svg.h"
#include "tandem/compare/compare.h"
#include "tandem/table.h"

namespace tandem::cli::compare {
namespace {

using report::escape;

std::string cell(double v, const char* f) { return std::isfinite(v) ? fmt(f, v) : ""; }

// An HTML table; cells are escaped here.
std::string html_table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::string s = "<table>\n";
  if (std::any_of(head.begin(), head.end(), [](const std::string& h) { return !h.empty(); })) {
    s += "<tr>";
    for (const std::string& h : head) s += "<th>" + escape(h) + "</th>";
    s += "</tr>\n";
  }
  for (const auto& r : rows) {
    s += "<tr>";
    for (const std::string& x : r) s += "<td>" + escape(x) + "</td>";
    s += "</tr>\n";
  }
  return s + "</table>\n";
}

const Run* run_at(const Result& r, size_t device, int64_t batch) {
  for (const Run& run : r.runs)
    if (run.device == device && run.batch == batch) return &run;
  return nullptr;
}

std::string err(const ErrorStat& e, bool rel) {
  if (!e.computed) return "";
  if (!std::isfinite(e.max_abs)) return "non-finite";
  return fmt("%.3g", rel ? e.max_rel : e.max_abs);
}

}  // namespace

std::string throughput_svg(const Config& c, const Result& r, const std::string& id) {
  report::BarChart chart;
  chart.id = id;
  chart.title = "Throughput of " + c.spec.name + " (" + std::string(mode_name(c.mode)) + ") by device and batch";
  chart.y_label = "samples/s";
  for (int64_t b : c.batches) chart.categories.push_back("batch " + std::to_string(b));
  for (size_t d = 0; d < r.devices.size(); ++d) {
    report::BarSeries s{.name = r.devices[d].id, .modeled = r.devices[d].modeled, .values = {}};
    for (int64_t b : c.batches) {
      const Run* run = run_at(r, d, b);
      std::optional<double> v;
      if (run)
        for (const Row& row : run->rows)
          if (row.kind == RowKind::model && row.ok()) v = figures(row, b, r.devices[d].roof).throughput;
      s.values.push_back(v);
    }
    chart.series.push_back(s);
  }
  return report::bar_chart_svg(chart);
}

std::string roofline_svg(const Config& c, const Result& r, size_t device) {
  const DeviceEntry& d = r.devices[device];
  const int64_t big = *std::max_element(c.batches.begin(), c.batches.end());
  report::Roofline chart;
  chart.title = "Roofline of " + d.id + ", " + c.spec.name + " at batch " + std::to_string(big);
  chart.peak_gflops = d.roof.peak_flops / 1e9;
  chart.bandwidth_gbs = d.roof.bandwidth / 1e9;
  chart.modeled = d.modeled;
  chart.roof_note = "peak " + d.roof.peak_label + ", bandwidth " + d.roof.bandwidth_label;
  if (const Run* run = run_at(r, device, big))
    for (const Row& row : run->rows) {
      const Figures f = figures(row, big, d.roof);
      if (std::isfinite(f.intensity) && f.gflops > 0) chart.points.push_back({row.name, f.intensity, f.gflops});
    }
  return report::roofline_svg(chart);
}

std::string to_html(const Config& c, const Result& r) {
  const std::string title = "tandem compare: " + c.spec.name + ", " + std::string(mode_name(c.mode));
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + escape(title) +
      "</title>\n<style>\nbody{font-family:sans-serif;margin:2em;max-width:1200px;color:#222}\n"
      "table{border-collapse:collapse;margin:0.5em 0 1.5em}\nth,td{border:1px solid #ccc;padding:2px 8px;"
      "text-align:right;font-size:13px}\nth{background:#f2f2f2}\ntd:first-child,th:first-child{text-align:left}\n"
      ".modeled{color:#a05000;font-weight:bold}\nsvg{display:block;margin:1em 0}\n</style>\n</head>\n<body>\n";
  h += "<h1>" + escape(title) + "</h1>\n";
  std::string devs;
  for (const DeviceEntry& d : r.devices)
    devs += (devs.empty() ? "" : ", ") + d.id + " (" + d.name + "; " + label(d) + ")";
  std::string batches;
  for (int64_t b : c.batches) batches += (batches.empty() ? "" : ", ") + std::to_string(b);
  h += html_table(
      {"", ""}, {{"created", r.created},
                 {"model", c.spec.name + " (" + c.model_source + "), " + std::to_string(r.parameters) + " parameters"},
                 {"devices", devs},
                 {"batches", batches},
                 {"repeats / warm-up", fmt("%d / %d (modeled devices: 1 / 0)", c.repeats, c.warmup)},
                 {"pruned", c.prune_text},
                 {"codec", c.codec ? compression::codec_string(*c.codec) : "none"},
                 {"schema", "tandem-compare/1 (tools/tandem/COMPARE.md)"}});
  h += "<h2>Notes</h2>\n<ul>\n";
  for (const std::string& n : notes(c, r))
    h += std::string("<li") + (n.find("MODELED") != std::string::npos ? " class=\"modeled\"" : "") + ">" + escape(n) +
         "</li>\n";
  h += "</ul>\n<h2>Throughput</h2>\n" + throughput_svg(c, r, "tp");
  std::vector<std::vector<std::string>> summary;
  for (const Run& run : r.runs) {
    const DeviceEntry& d = r.devices[run.device];
    for (const Row& row : run.rows)
      if (row.kind == RowKind::model) {
        const Figures f = figures(row, run.batch, d.roof);
        summary.push_back(
            {d.id, std::to_string(run.batch), row.ok() ? fmt("%.4f", row.latency.median * 1e3) : row.status,
             row.ok() ? fmt("%.4f-%.4f", row.latency.min * 1e3, row.latency.max * 1e3) : "", cell(f.throughput, "%.1f"),
             cell(f.gflops, "%.2f"), cell(f.gbytes, "%.2f"), cell(f.share * 100, "%.1f%%"),
             err(run.correctness.logits, false), err(run.correctness.logits, true),
             err(run.correctness.gradients, false), err(run.correctness.gradients, true), label(d)});
      }
  }
  h += "<h2>Whole model, and correctness against cpu:0</h2>\n" +
       html_table({"device", "batch", "ms (median)", "min-max ms", "samples/s", "GFLOP/s", "GB/s", "roofline",
                   "logits max abs err", "logits max rel err", "grads max abs err", "grads max rel err", "timing"},
                  summary);
  h += "<h2>Per layer</h2>\n";
  for (size_t di = 0; di < r.devices.size(); ++di) {
    const DeviceEntry& d = r.devices[di];
    h += "<h3>" + escape(d.id) + (d.modeled ? " <span class=\"modeled\">(modeled)</span>" : " (measured)") + "</h3>\n";
    std::vector<std::vector<std::string>> rows;
    for (const Run& run : r.runs) {
      if (run.device != di) continue;
      for (const Row& row : run.rows) {
        const Figures f = figures(row, run.batch, d.roof);
        const bool ok = row.ok();
        rows.push_back({row.name, std::to_string(run.batch), ok ? fmt("%.4f", row.latency.median * 1e3) : row.status,
                        ok ? fmt("%.4f-%.4f", row.latency.q1 * 1e3, row.latency.q3 * 1e3) : "",
                        cell(f.throughput, "%.1f"), cell(f.gflops, "%.2f"), cell(f.gbytes, "%.2f"),
                        cell(f.intensity, "%.3g"), cell(f.share * 100, "%.1f%%"), row.reason});
      }
    }
    h += html_table(
        {"row", "batch", "ms (median)", "IQR ms", "samples/s", "GFLOP/s", "GB/s", "FLOP/byte", "roofline", "note"},
        rows);
    h += roofline_svg(c, r, di);
  }
  return h + "</body>\n</html>\n";
}

}  // namespace tandem::cli::compare
