// tandem compare's text outputs: the terminal tables, JSON ("tandem-compare/1") and CSV. Every row
// carries its device's label, "measured" or "modeled"; figures that cannot be known are null/blank.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "build_info.h"
#include "tandem/compare/compare.h"
#include "tandem/table.h"

namespace tandem::cli::compare {
namespace {

using json = nlohmann::ordered_json;  // keys in the documented order, "schema" first

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json error_json(const ErrorStat& e) {
  if (!e.computed) return nullptr;
  return {{"max_abs_error", num(e.max_abs)},
          {"max_rel_error", num(e.max_rel)},
          {"finite", std::isfinite(e.max_abs)},
          {"worst", e.worst}};
}

json row_json(const Row& r, int64_t batch, const DeviceEntry& d, int64_t parameters) {
  const Figures f = figures(r, batch, d.roof);
  json j{{"kind", kind_name(r.kind)},
         {"name", r.name},
         {"status", r.status},
         {"reason", r.reason},
         {"label", label(d)},
         {"latency_s", nullptr},
         {"throughput_samples_per_s", num(f.throughput)},
         {"flops", r.ok() ? json(r.flops) : json(nullptr)},
         {"bytes", r.ok() ? json(r.bytes) : json(nullptr)},
         {"gflops_per_s", num(f.gflops)},
         {"gbytes_per_s", num(f.gbytes)},
         {"intensity_flops_per_byte", num(f.intensity)},
         {"roof_gflops_per_s", num(f.roof_gflops)},
         {"roofline_share", num(f.share)},
         {"energy_j_per_sample", nullptr}};
  if (r.ok())
    j["latency_s"] = {{"median", r.latency.median}, {"min", r.latency.min}, {"max", r.latency.max},
                      {"q1", r.latency.q1},         {"q3", r.latency.q3},   {"samples", r.latency.samples}};
  if (r.kind == RowKind::codec) {  // wire messages against the dense f32 gradients
    const double dense = 4.0 * static_cast<double>(parameters);
    const bool known = r.ok() && r.message_bytes > 0;
    j["message_bytes"] = known ? json(r.message_bytes) : json(nullptr);
    j["dense_bytes"] = dense;
    j["compression_ratio"] = known ? json(dense / r.message_bytes) : json(nullptr);
  }
  return j;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

std::string g(double v) { return std::isfinite(v) ? fmt("%.6g", v) : ""; }

// "0.123" ms, or "-" for a row without figures.
std::string ms(const Row& r, double s) { return r.ok() ? fmt("%.3f", s * 1e3) : "-"; }
std::string pct(double share) { return std::isfinite(share) ? fmt("%.1f%%", share * 100) : ""; }

const Row* model_row(const Run& run) {
  for (const Row& r : run.rows)
    if (r.kind == RowKind::model) return &r;
  return nullptr;
}

std::string err_cell(const ErrorStat& e) {
  if (!e.computed) return "";
  return std::isfinite(e.max_abs) ? fmt("%.2g / %.2g", e.max_abs, e.max_rel) : "non-finite";
}

}  // namespace

const char* const kEnergyUnavailable =
    "no device in this build reports power: NVML (GPU power) needs the CUDA backend, which is not built; CPU (RAPL), "
    "PoCL and the FPGA simulation are not read";

std::vector<std::string> notes(const Config& c, const Result& r) {
  std::vector<std::string> n;
  n.push_back(std::string(c.mode == Mode::infer ? "infer: one forward pass"
                                                : "train: forward, loss, backward and the SGD update") +
              (c.codec ? " with the codec's compress + decompress of every gradient" : "") +
              " per step. Latency: median over the timed steps after warm-up, spread min-max and IQR. Model rows "
              "time the whole step; layer rows time each layer synchronized on its own (forward" +
              (c.mode == Mode::train ? std::string(" + backward; the last layer includes the loss)") : ")") + ".");
  for (const DeviceEntry& d : r.devices)
    if (d.modeled)
      n.push_back(d.id +
                  ": every figure is MODELED: the device time of its performance model "
                  "(Device::modeled_seconds), one timed step (the model is deterministic); its outputs come "
                  "from the C simulation of its cores.");
  if (c.prune.method != nn::PruneMethod::none)
    n.push_back("pruned " + c.prune_text + fmt(" (%.1f%% of the prunable weights are zero)", r.sparsity * 100) +
                ": the kernels are dense, so sparsity changes no device's time. The FPGA model accounts for skipped "
                "work only where a core really skips it, and ours do not.");
  if (c.codec)
    n.push_back(
        "codec rows: compress -> wire message -> strict decode of every gradient on the gradient's device, "
        "as a rank would send it (no network); included in the model step.");
  for (const DeviceEntry& d : r.devices)
    n.push_back(d.id + " roofline: peak " +
                (d.roof.peak_flops > 0 ? fmt("%.1f GFLOP/s", d.roof.peak_flops / 1e9) : "?") + " (" +
                d.roof.peak_label + ": " + d.roof.peak_source + "), bandwidth " +
                (d.roof.bandwidth > 0 ? fmt("%.1f GB/s", d.roof.bandwidth / 1e9) : "?") + " (" +
                d.roof.bandwidth_label + ": " + d.roof.bandwidth_source + ").");
  n.push_back(
      "roofline share: achieved FLOP/s over min(peak, intensity x bandwidth). Above 100% means the data "
      "stayed in caches, whose bandwidth exceeds the memory roof; blank where the roof is unknown.");
  n.push_back(std::string("energy per sample: not given: ") + kEnergyUnavailable + ".");
  n.push_back(
      "correctness: max |x - ref| and max |x - ref| / max |ref| against cpu:0 on the same inputs and "
      "weights (seed " +
      std::to_string(c.seed) + ").");
  return n;
}

std::string to_json(const Config& c, const Result& r) {
  json j{{"schema", "tandem-compare/1"},
         {"tandem_version", TANDEM_VERSION},
         {"created", r.created},
         {"model", {{"name", c.spec.name}, {"source", c.model_source}, {"parameters", r.parameters}}},
         {"mode", mode_name(c.mode)},
         {"batches", c.batches},
         {"repeats", c.repeats},
         {"warmup", c.warmup},
         {"seed", c.seed},
         {"reference_device", "cpu:0"},
         {"pruned", nullptr},
         {"compress", nullptr},
         {"energy", {{"available", false}, {"reason", kEnergyUnavailable}}},
         {"notes", notes(c, r)},
         {"devices", json::array()},
         {"runs", json::array()}};
  j["model"]["layers"] = json::array();
  for (const nn::LayerSpec& l : c.spec.layers)
    j["model"]["layers"].push_back({{"name", l.name}, {"type", nn::layer_type_name(l.type)}});
  if (c.prune.method != nn::PruneMethod::none)
    j["pruned"] = {{"spec", c.prune_text},
                   {"sparsity", r.sparsity},
                   {"kernels", "dense"},
                   {"note",
                    "sparsity changes no device's time: the kernels are dense, and the FPGA model counts "
                    "skipped work only where a core skips it (ours do not)"}};
  if (c.codec) j["compress"] = {{"codec", compression::codec_string(*c.codec)}};
  for (const DeviceEntry& d : r.devices) {
    const auto fig = [](double v) { return v > 0 ? json(v) : json(nullptr); };
    j["devices"].push_back({{"id", d.id},
                            {"name", d.name},
                            {"driver", d.driver},
                            {"kind", d.kind},
                            {"label", label(d)},
                            {"roof",
                             {{"peak_flops", fig(d.roof.peak_flops)},
                              {"peak_label", d.roof.peak_label},
                              {"peak_source", d.roof.peak_source},
                              {"bandwidth_bytes_per_s", fig(d.roof.bandwidth)},
                              {"bandwidth_label", d.roof.bandwidth_label},
                              {"bandwidth_source", d.roof.bandwidth_source}}}});
  }
  for (const Run& run : r.runs) {
    const DeviceEntry& d = r.devices[run.device];
    json rows = json::array();
    for (const Row& row : run.rows) rows.push_back(row_json(row, run.batch, d, r.parameters));
    j["runs"].push_back({{"device", d.id},
                         {"batch", run.batch},
                         {"label", label(d)},
                         {"repeats", run.repeats},
                         {"warmup", run.warmup},
                         {"correctness",
                          {{"reference", "cpu:0"},
                           {"label", label(d)},
                           {"logits", error_json(run.correctness.logits)},
                           {"gradients", error_json(run.correctness.gradients)},
                           {"note", run.correctness.note}}},
                         {"rows", rows}});
  }
  return j.dump(2) + "\n";
}

std::string to_csv(const Config& c, const Result& r) {
  std::string out =
      "device,label,batch,mode,kind,name,status,reason,latency_median_s,latency_min_s,latency_max_s,latency_q1_s,"
      "latency_q3_s,repeats,throughput_samples_per_s,flops,bytes,gflops_per_s,gbytes_per_s,intensity_flops_per_byte,"
      "roof_gflops_per_s,roofline_share,energy_j_per_sample,message_bytes,logits_max_abs_error,logits_max_rel_error,"
      "gradients_max_abs_error,gradients_max_rel_error\n";
  for (const Run& run : r.runs) {
    const DeviceEntry& d = r.devices[run.device];
    for (const Row& row : run.rows) {
      const Figures f = figures(row, run.batch, d.roof);
      const bool ok = row.ok(), model = row.kind == RowKind::model;
      const ErrorStat &el = run.correctness.logits, &eg = run.correctness.gradients;
      const std::vector<std::string> cells = {d.id,
                                              label(d),
                                              std::to_string(run.batch),
                                              std::string(mode_name(c.mode)),
                                              std::string(kind_name(row.kind)),
                                              row.name,
                                              row.status,
                                              row.reason,
                                              ok ? g(row.latency.median) : "",
                                              ok ? g(row.latency.min) : "",
                                              ok ? g(row.latency.max) : "",
                                              ok ? g(row.latency.q1) : "",
                                              ok ? g(row.latency.q3) : "",
                                              ok ? std::to_string(row.latency.samples) : "",
                                              g(f.throughput),
                                              ok ? g(row.flops) : "",
                                              ok ? g(row.bytes) : "",
                                              g(f.gflops),
                                              g(f.gbytes),
                                              g(f.intensity),
                                              g(f.roof_gflops),
                                              g(f.share),
                                              "",  // energy: see kEnergyUnavailable
                                              row.kind == RowKind::codec && ok ? g(row.message_bytes) : "",
                                              model && el.computed ? g(el.max_abs) : "",
                                              model && el.computed ? g(el.max_rel) : "",
                                              model && eg.computed ? g(eg.max_abs) : "",
                                              model && eg.computed ? g(eg.max_rel) : ""};
      for (size_t i = 0; i < cells.size(); ++i) out += (i ? "," : "") + csv_field(cells[i]);
      out += "\n";
    }
  }
  return out;
}

void print_tables(const Config& c, const Result& r) {
  std::printf("compare %s (%s), %s; pruned %s, codec %s; median of the timed steps after warm-up\n",
              c.spec.name.c_str(), c.model_source.c_str(), std::string(mode_name(c.mode)).c_str(), c.prune_text.c_str(),
              c.codec ? compression::codec_string(*c.codec).c_str() : "none");
  Table t({"device", "batch", "ms", "min-max ms", "samples/s", "GFLOP/s", "GB/s", "roofline", "logits err abs/rel",
           "grads err abs/rel", "timing"});
  for (const Run& run : r.runs) {
    const DeviceEntry& d = r.devices[run.device];
    const Row* m = model_row(run);
    const Figures f = figures(*m, run.batch, d.roof);
    t.add({d.id, std::to_string(run.batch), m->ok() ? ms(*m, m->latency.median) : m->status,
           m->ok() ? ms(*m, m->latency.min) + "-" + ms(*m, m->latency.max) : "",
           std::isfinite(f.throughput) ? fmt("%.1f", f.throughput) : "",
           std::isfinite(f.gflops) ? fmt("%.3g", f.gflops) : "", std::isfinite(f.gbytes) ? fmt("%.3g", f.gbytes) : "",
           pct(f.share), err_cell(run.correctness.logits), err_cell(run.correctness.gradients), label(d)});
  }
  t.print();
  // Per layer at the largest batch: one column pair per device.
  const int64_t big = *std::max_element(c.batches.begin(), c.batches.end());
  std::vector<std::string> head = {"row"};
  std::vector<const Run*> runs;
  for (const Run& run : r.runs)
    if (run.batch == big) {
      const DeviceEntry& d = r.devices[run.device];
      head.push_back(d.id + (d.modeled ? " ms (modeled)" : " ms"));
      head.push_back("roofline");
      runs.push_back(&run);
    }
  Table l(head);
  for (size_t i = 0; !runs.empty() && i < runs[0]->rows.size(); ++i) {
    std::vector<std::string> row = {runs[0]->rows[i].name};
    for (const Run* run : runs) {
      const Row& x = run->rows[i];
      row.push_back(x.ok() ? ms(x, x.latency.median) : x.status);
      row.push_back(pct(figures(x, run->batch, r.devices[run->device].roof).share));
    }
    l.add(row);
  }
  std::printf("\nper layer at batch %lld:\n", static_cast<long long>(big));
  l.print();
  for (const Run& run : r.runs)
    for (const Row& x : run.rows)
      if (!x.ok() || (x.kind == RowKind::model && !x.reason.empty()))
        std::printf("%s batch %lld, %s: %s: %s\n", r.devices[run.device].id.c_str(), static_cast<long long>(run.batch),
                    x.name.c_str(), x.status.c_str(), x.reason.c_str());
  std::printf("\nnotes:\n");
  for (const std::string& n : notes(c, r)) std::printf("- %s\n", n.c_str());
}

}  // namespace tandem::cli::compare
