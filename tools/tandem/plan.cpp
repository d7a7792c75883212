// tandem plan: where each layer of a model would run, and why — each layer's op calls predicted on
// every device from the machine's performance profile (calibrating first when there is none, or
// it is damaged or from another machine), the copies between devices likewise, and the planner's
// choice (least predicted step time; pins honoured; a pin that cannot be kept reported once).
// --check then runs the chosen placement and each device alone, and sets the measured step times
// beside the predicted ones. Text table and --json.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "options.h"
#include "table.h"
#include "tandem/clock.h"
#include "tandem/error.h"
#include "tandem/file.h"
#include "tandem/nn/calibration.h"
#include "tandem/nn/network.h"

namespace tandem::cli {
namespace {

struct PlanOptions {
  std::string model = "cnn", devices = "all", place, json_path, profile;
  int64_t batch = 64;
  int repeats = 5;
  bool check = false;
};


// One training step's time (forward + backward) on a placement, median of `repeats`: host wall
// time; where modeled devices take part, their modeled time replaces the wall time of their layers
// (label "partly modeled").
struct Measured {
  double seconds = 0;
  bool modeled = false;  ///< some layer ran on a modeled device
  bool all_modeled = false;
};
Measured measure(const nn::ModelSpec& spec, const std::vector<Device>& placement, int64_t batch, int repeats) {
  nn::Network net(spec, placement);
  net.init(1);
  const nn::ExampleBatch b = nn::example_batch(spec, batch, 1);
  const Tensor input = b.input(net.input_device()), labels = b.label_tensor(net.output_device());
  Measured m;
  const auto modeled = [](const Device& d) { return d.props().modeled; };
  m.modeled = std::any_of(placement.begin(), placement.end(), modeled);
  m.all_modeled = std::all_of(placement.begin(), placement.end(), modeled);
  net.forward(input);  // warm-up
  net.backward(labels);
  net.time_layers(m.modeled);
  std::vector<double> steps;
  for (int r = 0; r < repeats; ++r) {
    const double w0 = monotonic_seconds();
    net.forward(input);
    net.backward(labels);
    steps.push_back(monotonic_seconds() - w0);
  }
  if (m.modeled) {  // per-layer times: modeled on modeled devices, wall time elsewhere
    m.seconds = 0;
    for (double l : net.layer_seconds()) m.seconds += l / repeats;
    return m;
  }
  m.seconds = nn::robust_median(steps).seconds;
  return m;
}

void run(const PlanOptions& o) {
  const nn::ModelSpec spec = nn::load_model(o.model);
  const std::vector<Device> devs = parse_device_list(o.devices);
  const auto pins = nn::parse_pins(o.place);
  std::vector<std::string> ids;
  for (const Device& d : devs) ids.push_back(d.id());
  nn::check_pins(pins, spec.layer_names(), ids);  // before calibrating, which may take minutes
  const std::string path = o.profile.empty() ? nn::default_profile_path() : o.profile;
  nn::CalibrateOptions co;
  co.models = {o.model};
  co.progress = [](const std::string& what) { std::fprintf(stderr, "calibrating %s ...\n", what.c_str()); };
  std::string why;
  set_stage("reading or calibrating the profile");
  const nn::Profile profile = nn::load_or_calibrate(path, devs, co, &why);
  if (!why.empty() && !path.empty())
    std::fprintf(stderr, "warning: %s: calibrated afresh, saved to %s\n", why.c_str(), path.c_str());
  else if (!why.empty())
    std::fprintf(stderr, "warning: %s\n", why.c_str());

  set_stage("tracing " + spec.name + " at batch " + std::to_string(o.batch));
  nn::PlanInput in = nn::plan_input(spec, o.batch, devs, profile);
  in.pins = pins;
  const nn::Plan p = nn::plan_placement(in);
  for (const std::string& w : p.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());

  std::vector<std::string> head = {"layer"};
  for (const Device& d : devs) head.push_back(d.id() + (d.props().modeled ? " ms (modeled)" : " ms"));
  head.insert(head.end(), {"placed on", "copy in ms"});
  Table t(head);
  nlohmann::json j{{"model", spec.name},
                   {"batch", o.batch},
                   {"devices", in.devices},
                   {"profile", path},
                   {"fingerprint", profile.fingerprint},
                   {"layers", nlohmann::json::array()}};
  for (size_t i = 0; i < in.layers.size(); ++i) {
    std::vector<std::string> row = {in.layers[i].name};
    nlohmann::json per = nlohmann::json::object();
    for (size_t d = 0; d < devs.size(); ++d) {
      const double s = in.layers[i].seconds[d];
      row.push_back(s < nn::kUnsupported ? fmt("%.3f", s * 1e3) : "-");
      per[in.devices[d]] = {{"seconds", s < nn::kUnsupported ? nlohmann::json(s) : nlohmann::json(nullptr)},
                            {"timing", devs[d].props().modeled ? "modeled" : "measured"},
                            {"missing", in.layers[i].missing[d]}};
    }
    row.push_back(in.devices[static_cast<size_t>(p.device[i])]);
    row.push_back(fmt("%.3f", p.transfer_seconds[i] * 1e3));
    t.add(row);
    j["layers"].push_back({{"name", in.layers[i].name},
                           {"device", in.devices[static_cast<size_t>(p.device[i])]},
                           {"predicted_seconds", p.layer_seconds[i]},
                           {"copy_in_seconds", p.transfer_seconds[i]},
                           {"per_device", per}});
  }
  j["predicted_step_seconds"] = p.total_seconds;
  j["warnings"] = p.warnings;
  std::printf("plan for %s, batch %lld (forward + backward per layer, predicted from the profile):\n",
              spec.name.c_str(), static_cast<long long>(o.batch));
  t.print();
  std::printf("predicted step: %.3f ms\n", p.total_seconds * 1e3);

  // Peak training memory per device on the plan: the memory planner's activations (reused by
  // liveness, in place where the ops allow) plus parameters, gradients and masks.
  {
    std::vector<Device> placement;
    for (int d : p.device) placement.push_back(devs[static_cast<size_t>(d)]);
    nn::Network net(spec, placement);
    net.prepare_batch(o.batch);
    Table mem({"device", "activations MiB", "unplanned MiB", "peak MiB"});
    j["memory"] = nlohmann::json::object();
    for (const Device& d : devs) {
      const double act = static_cast<double>(net.activation_bytes(d)), peak = static_cast<double>(net.memory_bytes(d));
      const double unplanned = static_cast<double>(net.memory_plan().unplanned_bytes(net.graph(), d));
      mem.add({d.id(), fmt("%.2f", act / 1048576), fmt("%.2f", unplanned / 1048576), fmt("%.2f", peak / 1048576)});
      j["memory"][d.id()] = {{"activation_bytes", act}, {"unplanned_activation_bytes", unplanned}, {"peak_bytes", peak}};
    }
    std::printf("peak training memory per device (planned; unplanned: every activation its own buffer):\n");
    mem.print();
  }

  if (o.check) {  // the plan and each device alone: predicted vs measured
    Table c({"placement", "predicted ms", "measured ms", "error", "timing"});
    j["check"] = nlohmann::json::array();
    const auto row = [&](const std::string& name, const nn::Plan& plan) {
      std::vector<Device> placement;
      for (int d : plan.device) placement.push_back(devs[static_cast<size_t>(d)]);
      std::fprintf(stderr, "measuring %s ...\n", name.c_str());
      const Measured m = measure(spec, placement, o.batch, o.repeats);
      const double err = (plan.total_seconds - m.seconds) / m.seconds;
      const char* timing = m.all_modeled ? "modeled" : m.modeled ? "partly modeled" : "measured";
      c.add({name, fmt("%.3f", plan.total_seconds * 1e3), fmt("%.3f", m.seconds * 1e3), fmt("%+.1f%%", err * 100),
             timing});
      j["check"].push_back({{"placement", name},
                            {"predicted_seconds", plan.total_seconds},
                            {"measured_seconds", m.seconds},
                            {"error", err},
                            {"timing", timing}});
    };
    row("plan", p);
    for (const Device& d : devs) {
      nn::PlanInput alone = in;
      alone.pins = {{"*", d.id()}};
      const nn::Plan a = nn::plan_placement(alone);
      row("all on " + d.id() + (a.warnings.empty() ? "" : " (+cpu fallbacks)"), a);
    }
    std::printf("\ncheck (median of %d steps after a warm-up):\n", o.repeats);
    c.print();
  }
  if (!o.json_path.empty()) write_file_atomic(o.json_path, j.dump(2) + "\n");
}

}  // namespace

std::vector<Device> parse_device_list(const std::string& text) {
  if (text == "all") return devices();
  std::vector<Device> out;
  for (size_t at = 0; at <= text.size();) {
    const size_t comma = std::min(text.find(',', at), text.size());
    out.push_back(find_device(text.substr(at, comma - at)));
    at = comma + 1;
  }
  return out;
}

void add_plan_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("plan", "Show where each layer would run (cost-model placement) and the predicted times");
  auto o = std::make_shared<PlanOptions>();
  cmd->add_option("--model", o->model, model_help())->capture_default_str()->check(model_source());
  cmd->add_option("--devices", o->devices, "devices to place on (comma-separated ids) or all")->capture_default_str();
  cmd->add_option("--place", o->place, "pins, e.g. conv1=fpga-sim:0,fc*=cpu")->check(pins_spec());
  cmd->add_option("--batch", o->batch, "samples per step")->capture_default_str()->check(whole(1, 1 << 20));
  cmd->add_option("--profile", o->profile,
                  "performance profile, written when calibrating (default $TANDEM_PROFILE or ~/.cache/tandem/profile.json)")
      ->check(output_file());
  cmd->add_flag("--check", o->check, "run the plan and each device alone; measured step times beside the predicted");
  cmd->add_option("--repeats", o->repeats, "timed steps per placement in --check")
      ->capture_default_str()
      ->check(whole(1, 100));
  cmd->add_option("--json", o->json_path, "write the plan as JSON")->check(output_file());
  cmd->callback([o] { run(*o); });
}

}  // namespace tandem::cli
