// tandem plan: where each layer of a model would run, and why — every layer timed on every
// device that can hold it (host wall time, or the performance model's time on modeled devices),
// the copies between devices timed the same way, and the planner's choice (least predicted step
// time; pins honoured; a pin that cannot be kept reported). Text table and --json.
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "table.h"
#include "tandem/error.h"
#include "tandem/file.h"
#include "tandem/nn/network.h"
#include "tandem/nn/placement.h"

namespace tandem::cli {
namespace {

struct PlanOptions {
  std::string model = "cnn", devices = "all", place, json_path;
  int64_t batch = 64;
  int repeats = 3;
};

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Seconds per byte moved between the host and d (host wall time, or modeled), from an 8 MB copy
// each way.
double seconds_per_byte(const Device& d) {
  if (d.props().host_accessible) return 0;
  const int64_t n = 2 << 20;
  std::vector<float> host(static_cast<size_t>(n), 1.0f);
  Tensor t = Tensor::empty(d, {n});
  const double m0 = d.modeled_seconds();
  const auto w0 = std::chrono::steady_clock::now();
  t.copy_from_host(host.data());
  t.copy_to_host(host.data());
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  return (d.props().modeled ? d.modeled_seconds() - m0 : wall) / (2.0 * 4.0 * static_cast<double>(n));
}

void run(const PlanOptions& o) {
  if (o.batch < 1) throw Error(ErrorKind::invalid_argument, "", "plan", "--batch must be ≥ 1");
  const nn::ModelSpec spec = nn::load_model(o.model);
  std::vector<Device> devs;
  if (o.devices == "all") {
    devs = devices();
  } else {
    for (size_t at = 0; at <= o.devices.size();) {
      const size_t comma = std::min(o.devices.find(',', at), o.devices.size());
      devs.push_back(find_device(o.devices.substr(at, comma - at)));
      at = comma + 1;
    }
  }
  nn::PlanInput in;
  for (const Device& d : devs) in.devices.push_back(d.id());
  in.pins = nn::parse_pins(o.place);
  const std::vector<Shape> shapes = spec.shapes();
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    nn::LayerCost l;
    l.name = spec.layers[i].name.empty() ? "layer" + std::to_string(i) : spec.layers[i].name;
    l.out_bytes = 4.0 * static_cast<double>(o.batch * shapes[i].numel());
    l.seconds.assign(devs.size(), nn::kUnsupported);
    l.missing.assign(devs.size(), "");
    in.layers.push_back(l);
  }
  // Each device runs every layer it can hold (the rest on cpu:0, not timed).
  for (size_t di = 0; di < devs.size(); ++di) {
    const Device& d = devs[di];
    std::vector<Device> placement;
    bool any = false;
    for (size_t i = 0; i < spec.layers.size(); ++i) {
      const nn::LayerSpec& ls = spec.layers[i];
      const bool params = ls.type == nn::LayerType::conv2d || ls.type == nn::LayerType::linear;
      std::string missing;
      for (const OpDesc* op : nn::layer_ops(ls.type, i + 1 == spec.layers.size(), params))
        if (missing.empty() && !d.supports(*op)) missing = std::string("no kernel for ") + op->name;
      in.layers[i].missing[di] = missing;
      placement.push_back(missing.empty() ? d : cpu_device());
      any = any || missing.empty();
    }
    if (!any) continue;
    std::fprintf(stderr, "timing %s on %s ...\n", spec.name.c_str(), d.id().c_str());
    nn::Network net(spec, placement);
    net.init(1);
    const Shape& s = spec.input;
    std::vector<float> x(static_cast<size_t>(o.batch * s.numel()), 0.5f);
    std::vector<int32_t> labels(static_cast<size_t>(o.batch), 1);
    const Tensor input = Tensor::from_vector(net.input_device(), {o.batch, s[0], s[1], s[2]}, x);
    const Tensor lab = Tensor::from_vector(net.output_device(), {o.batch}, labels);
    net.forward(input);  // warm-up: allocations, kernel builds
    net.backward(lab);
    net.time_layers(true);
    for (int r = 0; r < o.repeats; ++r) {
      net.forward(input);
      net.backward(lab);
    }
    for (size_t i = 0; i < spec.layers.size(); ++i)
      if (in.layers[i].missing[di].empty()) in.layers[i].seconds[di] = net.layer_seconds()[i] / o.repeats;
  }
  std::vector<double> spb(devs.size());
  for (size_t d = 0; d < devs.size(); ++d) spb[d] = seconds_per_byte(devs[d]);
  in.bandwidth.assign(devs.size(), std::vector<double>(devs.size(), 0.0));
  for (size_t a = 0; a < devs.size(); ++a)
    for (size_t b = 0; b < devs.size(); ++b) in.bandwidth[a][b] = 1.0 / std::max(1e-15, spb[a] + spb[b]);
  const nn::Plan p = nn::plan_placement(in);

  for (const std::string& w : p.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  std::vector<std::string> head = {"layer"};
  for (const Device& d : devs) head.push_back(d.id() + (d.props().modeled ? " ms (modeled)" : " ms"));
  head.insert(head.end(), {"placed on", "copy in ms"});
  Table t(head);
  nlohmann::json j{
      {"model", spec.name}, {"batch", o.batch}, {"devices", in.devices}, {"layers", nlohmann::json::array()}};
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
  std::printf("plan for %s, batch %lld (forward + backward per layer; a predicted step, not a measured one):\n",
              spec.name.c_str(), static_cast<long long>(o.batch));
  t.print();
  std::printf("predicted step: %.3f ms\n", p.total_seconds * 1e3);
  if (!o.json_path.empty()) write_file_atomic(o.json_path, j.dump(2) + "\n");
}

}  // namespace

void add_plan_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("plan", "Show where each layer would run (cost-model placement) and the predicted times");
  auto o = std::make_shared<PlanOptions>();
  cmd->add_option("--model", o->model, "cnn, mlp or a model JSON file")->capture_default_str();
  cmd->add_option("--devices", o->devices, "devices to place on (comma-separated ids) or all")->capture_default_str();
  cmd->add_option("--place", o->place, "pins, e.g. conv1=fpga-sim:0,fc*=cpu");
  cmd->add_option("--batch", o->batch, "samples per step")->capture_default_str();
  cmd->add_option("--repeats", o->repeats, "timed passes per device")->capture_default_str()->check(CLI::Range(1, 100));
  cmd->add_option("--json", o->json_path, "write the plan as JSON");
  cmd->callback([o] { run(*o); });
}

}  // namespace tandem::cli
