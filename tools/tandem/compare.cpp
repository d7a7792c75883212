// tandem compare: one model on several devices side by side — per layer and for the whole model,
// per batch size: latency (median, spread), throughput, GFLOP/s, GB/s and the share of the device's
// roofline, with each device's outputs (and gradients, in train mode) checked against the CPU.
// Modeled devices (fpga-sim) are labeled modeled everywhere. Terminal tables; JSON, CSV, SVG charts
// and a self-contained HTML report (schema: tools/tandem/COMPARE.md). The work is in compare/.
#include "tandem/compare/compare.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "options.h"
#include "tandem/error.h"
#include "tandem/file.h"

namespace tandem::cli {
namespace {

struct CompareCli {
  std::string model = "cnn", devices = "all", batches = "1,16,64,256", mode = "infer", pruned = "none", compress;
  int repeats = 5, warmup = 1;
  uint64_t seed = 1;
  std::string out_dir, json_path, csv_path, html_path;
};

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorKind::invalid_argument, "", "compare", what); }

compare::Config configure(const CompareCli& o) {
  compare::Config c;
  c.model_source = o.model;
  c.spec = nn::load_model(o.model);
  c.devices = parse_device_list(o.devices);
  for (size_t i = 0; i < c.devices.size(); ++i)
    for (size_t k = 0; k < i; ++k)
      if (c.devices[i] == c.devices[k]) bad("--devices names " + c.devices[i].id() + " twice");
  for (size_t at = 0; at <= o.batches.size();) {  // checked at parse: whole numbers in range
    const size_t comma = std::min(o.batches.find(',', at), o.batches.size());
    c.batches.push_back(std::stoll(o.batches.substr(at, comma - at)));
    at = comma + 1;
  }
  c.mode = o.mode == "train" ? compare::Mode::train : compare::Mode::infer;  // checked at parse
  c.prune_text = o.pruned;
  c.prune = nn::parse_prune(o.pruned);
  if (!o.compress.empty() && o.compress != "none") {
    if (c.mode != compare::Mode::train) bad("--compress " + o.compress + ": gradient codecs need --mode train");
    c.codec = compression::parse_codec(o.compress);
  }
  c.repeats = o.repeats;
  c.warmup = o.warmup;
  c.seed = o.seed;
  c.progress = [](const std::string& s) { std::fprintf(stderr, "compare: %s\n", s.c_str()); };
  return c;
}

void run(const CompareCli& o) {
  const compare::Config c = configure(o);
  if (!o.out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.out_dir, ec);
    if (ec || !std::filesystem::is_directory(o.out_dir))
      bad("--out " + o.out_dir + ": cannot create it: " + ec.message());
  }
  set_stage("running " + o.model + " on " + o.devices + " at batch " + o.batches);
  const compare::Result r = compare::run(c);
  compare::print_tables(c, r);

  std::vector<std::string> written;
  const auto write = [&](const std::string& path, const std::string& data) {
    write_file_atomic(path, data);
    written.push_back(path);
  };
  const std::string json = compare::to_json(c, r), csv = compare::to_csv(c, r);
  if (!o.out_dir.empty()) {
    const std::filesystem::path dir(o.out_dir);
    write((dir / "compare.json").string(), json);
    write((dir / "compare.csv").string(), csv);
    write((dir / "compare.html").string(), compare::to_html(c, r));
    write((dir / "throughput.svg").string(), compare::throughput_svg(c, r, "tp"));
    for (size_t d = 0; d < r.devices.size(); ++d) {
      std::string id = r.devices[d].id;
      std::replace(id.begin(), id.end(), ':', '-');
      write((dir / ("roofline-" + id + ".svg")).string(), compare::roofline_svg(c, r, d));
    }
  }
  if (!o.json_path.empty()) write(o.json_path, json);
  if (!o.csv_path.empty()) write(o.csv_path, csv);
  if (!o.html_path.empty()) write(o.html_path, compare::to_html(c, r));
  if (!written.empty()) std::printf("\nwritten:");
  for (const std::string& w : written) std::printf(" %s", w.c_str());
  if (!written.empty()) std::printf("\n");
}

}  // namespace

void add_compare_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "compare", "Run a model's layers on several devices side by side: speed, roofline share and correctness");
  auto o = std::make_shared<CompareCli>();
  cmd->add_option("--model", o->model, model_help())->capture_default_str()->check(model_source());
  cmd->add_option("--devices", o->devices, "devices (comma-separated ids) or all")->capture_default_str();
  cmd->add_option("--batch", o->batches, "batch sizes, comma-separated")
      ->capture_default_str()
      ->check(whole_list(1, 1 << 20));
  cmd->add_option("--mode", o->mode, "infer (forward) or train (forward, backward, SGD update)")
      ->capture_default_str()
      ->check(CLI::IsMember({"infer", "train"}));
  cmd->add_option("--pruned", o->pruned, "prune the weights first: magnitude:S, global:S, 2:4 or none")
      ->capture_default_str()
      ->check(prune_spec());
  cmd->add_option("--compress", o->compress, "train mode: a gradient codec run on each step (as in tandem train)")
      ->check(codec_spec(false));
  cmd->add_option("--repeats", o->repeats, "timed steps per device and batch (modeled devices: 1)")
      ->capture_default_str()
      ->check(whole(1, 1000));
  cmd->add_option("--warmup", o->warmup, "untimed steps first (modeled devices: none)")
      ->capture_default_str()
      ->check(whole(0, 1000));
  cmd->add_option("--seed", o->seed, "weights and inputs (the same on every device)")
      ->capture_default_str()
      ->check(whole(0, INT64_MAX));
  cmd->add_option("--out", o->out_dir, "write compare.json, compare.csv, compare.html and the SVG charts here")
      ->check(output_dir());
  cmd->add_option("--json", o->json_path, "write the JSON report (schema tandem-compare/1) here")->check(output_file());
  cmd->add_option("--csv", o->csv_path, "write the CSV (one line per device, batch and row) here")->check(output_file());
  cmd->add_option("--html", o->html_path, "write the self-contained HTML report here")->check(output_file());
  cmd->callback([o] { run(*o); });
}

}  // namespace tandem::cli
