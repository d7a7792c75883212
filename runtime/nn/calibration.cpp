// Calibration: every op call of real model passes timed on its own, per device and size class,
// then fitted (see calibration.h); and the planner's input predicted from the result.
#include "tandem/nn/calibration.h"

#include <cstdlib>
#include <filesystem>
#include <set>
#include <tuple>

#include "tandem/clock.h"
#include "tandem/error.h"
#include "tandem/file.h"
#include "tandem/nn/network.h"
#include "tandem/stream.h"
#include "tandem/topology.h"

namespace tandem::nn {
namespace {


// Shape families numbered by their order within one pass (see shape_family).
struct Families {
  std::map<std::string, int> seen;
  std::string of(const OpCall& call) {
    const std::string f = shape_family(call);
    return f + "#" + std::to_string(seen[std::string(call.op.name) + f]++);
  }
};

// Seconds an op took on its device: the stream is drained before and after, so the op runs alone;
// modeled devices report the model's time. Ops on other devices are not recorded.
class OpTimer : public OpObserver {
 public:
  explicit OpTimer(const Device& device) : device_(device), timer_(device) {}
  void before(Stream& s, const OpCall&) override {
    if (!(s.device() == device_)) return;
    s.synchronize();
    timer_.restart();
  }
  void after(Stream& s, const OpCall& call, const OpCost& cost) override {
    const std::string family = families.of(call);
    if (!(s.device() == device_)) return;
    s.synchronize();
    samples_[{call.op.name, family, cost.flops, cost.bytes}].push_back(timer_.seconds());
  }
  Families families;  // reset before each pass
  // (op, shape family, flops, bytes) → seconds of each repeat
  std::map<std::tuple<std::string, std::string, double, double>, std::vector<double>> samples_;

 private:
  Device device_;
  DeviceTimer timer_;
};

// Records the op calls of each layer (costs only; nothing is timed).
class OpTracer : public OpObserver {
 public:
  void before(Stream&, const OpCall&) override {}
  void after(Stream&, const OpCall& call, const OpCost& cost) override {
    calls.push_back({layer, &call.op, cost, families.of(call)});
  }
  struct Call {
    size_t layer;
    const OpDesc* op;
    OpCost cost;
    std::string family;
  };
  size_t layer = 0;
  std::vector<Call> calls;
  Families families;
};

// The layers a device can hold (all their ops), the rest on the CPU.
std::vector<Device> placement_on(const ModelSpec& spec, const Device& d, std::vector<std::string>* missing) {
  std::vector<Device> out;
  std::vector<std::string> why(spec.layers.size());
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const OpDesc* op = missing_op(spec, i, d);
    if (op) why[i] = std::string("no kernel for ") + op->name;
    out.push_back(why[i].empty() ? d : cpu_device());
  }
  // A device with the kernels may still refuse some calls (an FPGA core without an ignore index):
  // the network built there moves those layers to the CPU too (and says why).
  if (!(d == cpu_device()) && std::count(out.begin(), out.end(), d) > 0) {
    const Network net(spec, out);
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i] == d && !(net.layer_devices()[i] == d)) why[i] = "its calls are refused here", out[i] = cpu_device();
  }
  if (missing) *missing = why;
  return out;
}

// One forward and backward pass at `batch` on example data (the values do not change the time).
struct Pass {
  Network net;
  Tensor input, labels;
  Pass(const ModelSpec& spec, const std::vector<Device>& placement, int64_t batch) : net(spec, placement) {
    net.init(1);
    const ExampleBatch b = example_batch(spec, batch, 1);
    input = b.input(net.input_device()), labels = b.label_tensor(net.output_device());
  }
  void run() {
    net.forward(input);
    net.backward(labels);
  }
};

std::vector<TimedPoint> copy_points(const Device& d, int repeats) {
  std::vector<TimedPoint> out;
  for (int64_t floats : {int64_t{16} << 10, int64_t{256} << 10, int64_t{2} << 20}) {
    std::vector<float> host(static_cast<size_t>(floats), 1.0f);
    Tensor t = Tensor::empty(d, {floats});
    t.copy_from_host(host.data());  // first touch
    std::vector<double> samples;
    for (int r = 0; r < repeats; ++r)
      for (int dir = 0; dir < 2; ++dir) {
        const DeviceTimer timer(d);
        dir == 0 ? t.copy_from_host(host.data()) : t.copy_to_host(host.data());
        samples.push_back(timer.seconds());
      }
    const Timing tm = robust_median(samples);
    out.push_back({4.0 * static_cast<double>(floats), tm.seconds, tm.kept, tm.total});
  }
  return out;
}

double link_bandwidth(const Device& d) {
  if (d.props().pci_address.empty() || !topo::topology_built()) return 0;
  try {
    for (const topo::PciDevice& p : topo::Topology::local().devices)
      if (p.bus_id == d.props().pci_address) return p.link_bandwidth;
  } catch (const Error&) {
  }
  return 0;
}

DeviceProfile calibrate_device(const Device& d, const CalibrateOptions& o) {
  DeviceProfile dp;
  dp.name = d.props().name;
  dp.driver = d.props().driver;
  dp.modeled = d.props().modeled;
  const int repeats = dp.modeled ? 1 : std::max(1, o.repeats);
  OpTimer timer(d);
  for (const std::string& m : o.models) {
    const ModelSpec spec = load_model(m);
    const std::vector<Device> placement = placement_on(spec, d, nullptr);
    if (std::none_of(placement.begin(), placement.end(), [&](const Device& x) { return x == d; })) continue;
    for (int64_t batch : o.batches) {
      if (o.progress) o.progress(d.id() + ": " + spec.name + " at batch " + std::to_string(batch));
      Pass pass(spec, placement, batch);
      if (!dp.modeled) pass.run();  // warm-up: allocations, kernel builds, caches
      const ScopedOpObserver watch(timer);
      for (int r = 0; r < repeats; ++r) {
        timer.families = {};
        pass.run();
      }
    }
  }
  // An op is sized by its FLOPs when its largest call computes more than it moves, else by bytes.
  std::map<std::string, std::pair<double, double>> largest;
  for (const auto& [key, samples] : timer.samples_) {
    const auto& [name, family, f, b] = key;
    auto& [flops, bytes] = largest[name];
    if (f + b > flops + bytes) flops = f, bytes = b;
  }
  for (const auto& [key, samples] : timer.samples_) {
    const auto& [name, family, f, b] = key;
    const Timing t = robust_median(samples);
    OpProfile& op = dp.ops[name];
    op.by_flops = largest.at(name).first > largest.at(name).second;
    const TimedPoint point{op.by_flops ? f : b, t.seconds, t.kept, t.total};
    op.all.points.push_back(point);
    op.shapes[family].points.push_back(point);
  }
  const auto fit = [](SizeLaw& law) {
    std::vector<std::pair<double, double>> xt;
    for (const TimedPoint& p : law.points) xt.emplace_back(p.x, p.seconds);
    law.fit = fit_power(xt);
  };
  for (auto& [name, op] : dp.ops) {
    fit(op.all);
    for (auto& [family, law] : op.shapes) fit(law);
  }
  if (!d.props().host_accessible) {
    if (o.progress) o.progress(d.id() + ": copies");
    dp.copies = copy_points(d, repeats);
    std::vector<std::pair<double, double>> xt;
    for (const TimedPoint& p : dp.copies) xt.emplace_back(p.x, p.seconds);
    dp.copy = fit_power(xt, true);
    dp.link_bandwidth = link_bandwidth(d);
  }
  return dp;
}

std::string read_text(const std::string& path) { return read_file(path, "profile " + path, 64u << 20); }

// Why the profile cannot serve these devices and models on this machine ("" when it can).
std::string unusable(const Profile& p, const std::string& path, const std::vector<Device>& devices,
                     const CalibrateOptions& o) {
  std::string here;
  if (p.fingerprint != machine_fingerprint(&here))
    return "profile " + path + " was measured on another machine (" + p.machine + "), not this one (" + here + ")";
  for (const Device& d : devices) {
    const auto it = p.devices.find(d.id());
    if (it == p.devices.end()) return "profile " + path + " has no measurements for " + d.id();
    if (it->second.name != d.props().name || it->second.driver != d.props().driver)
      return "profile " + path + " measured " + d.id() + " as " + it->second.name + ", now it is " + d.props().name;
  }
  for (const std::string& m : o.models)
    if (std::find(p.models.begin(), p.models.end(), m) == p.models.end())
      return "profile " + path + " does not cover model " + m;
  return "";
}

}  // namespace

Profile calibrate(const std::vector<Device>& devices, const CalibrateOptions& o) {
  if (o.batches.empty() || o.models.empty())
    throw Error(ErrorKind::invalid_argument, "", "calibrate", "needs at least one model and one batch size");
  for (int64_t b : o.batches)
    if (b < 1) throw Error(ErrorKind::invalid_argument, "", "calibrate", "batch sizes must be ≥ 1");
  Profile p;
  p.fingerprint = machine_fingerprint(&p.machine);
  p.models = o.models;
  for (const Device& d : devices) p.devices[d.id()] = calibrate_device(d, o);
  return p;
}

std::string default_profile_path() {
  if (const char* p = std::getenv("TANDEM_PROFILE"); p && *p) return p;
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  // Only absolute bases (the XDG rule): a relative or missing one would write into whatever
  // directory the command runs in.
  std::string base;
  if (xdg && xdg[0] == '/') base = xdg;
  else if (home && home[0] == '/') base = std::string(home) + "/.cache";
  else return "";
  try {
    check_output_dir(base + "/tandem", "profile cache");
  } catch (const Error&) {
    return "";
  }
  return base + "/tandem/profile.json";
}

Profile load_or_calibrate(const std::string& path, const std::vector<Device>& devices, const CalibrateOptions& o,
                          std::string* why) {
  std::string reason;
  Profile old;
  bool same_machine = false;
  if (path.empty()) {
    reason = "no profile cache ($XDG_CACHE_HOME and $HOME/.cache unset or not writable; --profile or $TANDEM_PROFILE "
             "names one): calibrated for this run only";
  } else if (!std::filesystem::exists(path)) {
    reason = "no profile at " + path;
  } else {
    try {
      old = Profile::parse(read_text(path), path);
      same_machine = old.fingerprint == machine_fingerprint();
      reason = unusable(old, path, devices, o);
    } catch (const Error& e) {
      reason = e.what();
    }
  }
  if (why != nullptr) *why = reason;
  if (reason.empty()) return old;
  CalibrateOptions wanted = o;
  if (same_machine)  // keep what was measured for other models
    for (const std::string& m : old.models)
      if (std::find(wanted.models.begin(), wanted.models.end(), m) == wanted.models.end()) wanted.models.push_back(m);
  Profile fresh = calibrate(devices, wanted);
  if (same_machine)
    for (auto& [id, d] : old.devices) fresh.devices.try_emplace(id, std::move(d));
  if (path.empty()) return fresh;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  write_file_atomic(path, fresh.to_json());
  return fresh;
}

PlanInput plan_input(const ModelSpec& spec, int64_t batch, const std::vector<Device>& devices, const Profile& p) {
  if (batch < 1) throw Error(ErrorKind::invalid_argument, "", "plan", "batch must be ≥ 1");
  OpTracer tracer;
  {
    Pass pass(spec, {cpu_device()}, batch);
    pass.net.tag_layers(&tracer.layer);
    const ScopedOpObserver watch(tracer);
    pass.run();
  }
  PlanInput in;
  const std::vector<Shape> shapes = spec.shapes();
  const std::vector<std::vector<int>> sources = spec.sources();
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    LayerCost l;
    l.name = spec.layer_name(i);
    l.inputs = sources[i];
    l.out_bytes = 4.0 * static_cast<double>(batch * shapes[i].numel());
    l.seconds.assign(devices.size(), 0.0);
    in.layers.push_back(l);
  }
  for (size_t di = 0; di < devices.size(); ++di) {
    const Device& d = devices[di];
    in.devices.push_back(d.id());
    std::vector<std::string> missing;
    placement_on(spec, d, &missing);
    for (size_t i = 0; i < spec.layers.size(); ++i) {
      in.layers[i].missing.push_back(missing[i]);
      if (!missing[i].empty()) in.layers[i].seconds[di] = kUnsupported;
    }
    for (const OpTracer::Call& c : tracer.calls) {
      if (!missing[c.layer].empty()) continue;
      const std::optional<double> s = p.predict(d.id(), *c.op, c.cost, c.family);
      if (!s)
        throw Error(ErrorKind::invalid_argument, d.id(), "plan",
                    "layer " + spec.layer_name(c.layer) + ": the profile has no timing of " + c.op->name +
                        " on this device (recalibrate)");
      in.layers[c.layer].seconds[di] += *s;
    }
  }
  // A copy between two devices goes through the host: device → host, then host → device.
  in.bandwidth.assign(devices.size(), std::vector<double>(devices.size(), 0.0));
  const double probe = 1 << 24;
  in.latency = 0;
  for (size_t a = 0; a < devices.size(); ++a)
    for (size_t b = 0; b < devices.size(); ++b) {
      const std::string &ia = devices[a].id(), &ib = devices[b].id();
      const double fixed = p.copy_seconds(ia, 1) + p.copy_seconds(ib, 1);
      const double per_byte = (p.copy_seconds(ia, probe) + p.copy_seconds(ib, probe) - fixed) / (probe - 1);
      in.bandwidth[a][b] = per_byte > 0 ? 1.0 / per_byte : 1e15;
      if (a != b) in.latency = std::max(in.latency, fixed);
    }
  return in;
}

}  // namespace tandem::nn
