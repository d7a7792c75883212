// Profiles: robust statistics, the power-law fit, the machine fingerprint and the JSON form
// (checked field by field, so a damaged file is named, never half-read).
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "tandem/error.h"
#include "tandem/nn/calibration.h"
#include "tandem/topology.h"

namespace tandem::nn {
namespace {

constexpr const char* kFormat = "tandem-profile/1";

double median_of(std::vector<double> v) {
  const size_t h = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(h), v.end());
  const double upper = v[h];
  if (v.size() % 2 == 1) return upper;
  return 0.5 * (upper + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(h)));
}

// Weighted least squares of t ≈ c + a·x^b for a fixed b, weights 1/t² (relative error), with
// c, a ≥ 0: the unconstrained solution, else the best with one of them at 0.
PowerFit fit_fixed_b(const std::vector<std::pair<double, double>>& pts, double b) {
  double s11 = 0, s1f = 0, sff = 0, s1t = 0, sft = 0;
  for (const auto& [x, t] : pts) {
    const double w = 1.0 / (t * t), f = std::pow(x, b);
    s11 += w, s1f += w * f, sff += w * f * f, s1t += w * t, sft += w * f * t;
  }
  std::vector<PowerFit> tries;
  const double det = s11 * sff - s1f * s1f;
  if (det > 1e-12 * s11 * sff) {
    const double c = (s1t * sff - s1f * sft) / det, a = (s11 * sft - s1f * s1t) / det;
    if (c >= 0 && a >= 0) tries.push_back({c, a, b, 0});
  }
  if (sff > 0) tries.push_back({0, sft / sff, b, 0});
  tries.push_back({s1t / s11, 0, b, 0});
  PowerFit best;
  double best_err = INFINITY;
  for (PowerFit& f : tries) {
    double err = 0;
    for (const auto& [x, t] : pts) err += std::pow((f.predict(x) - t) / t, 2);
    f.rel_error = std::sqrt(err / static_cast<double>(pts.size()));
    if (f.rel_error < best_err) best = f, best_err = f.rel_error;
  }
  return best;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

nlohmann::json fit_json(const PowerFit& f) { return {{"c", f.c}, {"a", f.a}, {"b", f.b}, {"rel_error", f.rel_error}}; }

nlohmann::json points_json(const std::vector<TimedPoint>& pts) {
  nlohmann::json a = nlohmann::json::array();
  for (const TimedPoint& p : pts) a.push_back({{"x", p.x}, {"seconds", p.seconds}, {"kept", p.kept}, {"of", p.total}});
  return a;
}

nlohmann::json law_json(const SizeLaw& l) { return {{"points", points_json(l.points)}, {"fit", fit_json(l.fit)}}; }

// Reading: every field is required and checked; `at` says where, for the message.
struct Reader {
  const std::string& what;
  [[noreturn]] void fail(const std::string& at, const std::string& detail) const {
    throw Error(ErrorKind::invalid_argument, "", "profile " + what, at + ": " + detail);
  }
  const nlohmann::json& field(const nlohmann::json& j, const char* key, const std::string& at) const {
    if (!j.is_object() || !j.contains(key)) fail(at, std::string("missing \"") + key + "\"");
    return j[key];
  }
  double number(const nlohmann::json& j, const char* key, const std::string& at) const {
    const nlohmann::json& v = field(j, key, at);
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0)
      fail(at, std::string("\"") + key + "\" must be a finite number ≥ 0");
    return v.get<double>();
  }
  std::string text(const nlohmann::json& j, const char* key, const std::string& at) const {
    const nlohmann::json& v = field(j, key, at);
    if (!v.is_string()) fail(at, std::string("\"") + key + "\" must be a string");
    return v.get<std::string>();
  }
  // A number of timings: whole and within int (casting a larger double to int is undefined).
  int count(const nlohmann::json& j, const char* key, const std::string& at) const {
    const double v = number(j, key, at);
    if (v != std::floor(v) || v > 1e9) fail(at, std::string("\"") + key + "\" must be a whole number of timings");
    return static_cast<int>(v);
  }
  PowerFit fit(const nlohmann::json& j, const std::string& at) const {
    PowerFit f{number(j, "c", at), number(j, "a", at), number(j, "b", at), number(j, "rel_error", at)};
    if (f.b > 4) fail(at, "exponent b out of range");
    return f;
  }
  SizeLaw law(const nlohmann::json& j, const std::string& at) const {
    return {points(field(j, "points", at), at), fit(field(j, "fit", at), at + " fit")};
  }
  std::vector<TimedPoint> points(const nlohmann::json& j, const std::string& at) const {
    if (!j.is_array()) fail(at, "must be a list of points");
    std::vector<TimedPoint> out;
    for (const nlohmann::json& p : j) {
      TimedPoint t{number(p, "x", at), number(p, "seconds", at), count(p, "kept", at), count(p, "of", at)};
      if (t.kept > t.total)
        fail(at, "a point keeps " + std::to_string(t.kept) + " of " + std::to_string(t.total) + " timings");
      out.push_back(t);
    }
    return out;
  }
};

}  // namespace

Timing robust_median(std::vector<double> samples) {
  if (samples.empty()) throw Error(ErrorKind::invalid_argument, "", "calibration", "no timings to summarize");
  const double m = median_of(samples);
  std::vector<double> dev;
  for (double s : samples) dev.push_back(std::fabs(s - m));
  const double limit = 3 * 1.4826 * median_of(dev);
  std::vector<double> kept;
  for (double s : samples)
    if (std::fabs(s - m) <= limit) kept.push_back(s);
  return {median_of(kept), static_cast<int>(kept.size()), static_cast<int>(samples.size())};
}

double PowerFit::predict(double x) const { return c + a * std::pow(x, b); }

PowerFit fit_power(const std::vector<std::pair<double, double>>& x_seconds, bool linear) {
  std::vector<std::pair<double, double>> pts;
  for (const auto& [x, t] : x_seconds)
    if (x > 0 && t > 0) pts.emplace_back(x, t);
  if (pts.empty()) return {};
  std::vector<double> xs;
  for (const auto& p : pts) xs.push_back(p.first);
  std::sort(xs.begin(), xs.end());
  const size_t sizes = static_cast<size_t>(std::unique(xs.begin(), xs.end()) - xs.begin());
  if (linear || sizes < 3) return fit_fixed_b(pts, 1.0);
  PowerFit best;
  best.rel_error = INFINITY;
  for (int i = 30; i <= 150; ++i) {
    const PowerFit f = fit_fixed_b(pts, i / 100.0);
    if (f.rel_error < best.rel_error - 1e-12) best = f;
  }
  return best;
}

std::optional<double> Profile::predict(const std::string& device, const OpDesc& op, const OpCost& cost,
                                       const std::string& family) const {
  const auto d = devices.find(device);
  if (d == devices.end()) return std::nullopt;
  const auto o = d->second.ops.find(op.name);
  if (o == d->second.ops.end()) return std::nullopt;
  const double x = o->second.by_flops ? cost.flops : cost.bytes;
  const auto f = o->second.shapes.find(family);
  if (f != o->second.shapes.end() && f->second.points.size() >= 2) return f->second.fit.predict(x);
  return o->second.all.fit.predict(x);
}

std::string shape_family(const OpCall& call) {
  std::string s;
  for (auto list : {call.in, call.out})
    for (const Tensor* t : list) {
      s += '[';
      for (int i = 1; i < t->shape().rank(); ++i) s += (i > 1 ? "," : "") + std::to_string(t->shape()[i]);
      s += ']';
    }
  return s;
}

double Profile::copy_seconds(const std::string& device, double bytes) const {
  const auto d = devices.find(device);
  if (d == devices.end() || d->second.copies.empty()) return 0;
  double s = d->second.copy.predict(bytes);
  if (d->second.link_bandwidth > 0) s = std::max(s, bytes / d->second.link_bandwidth);
  return s;
}

std::string Profile::to_json() const {
  nlohmann::json j{{"format", kFormat},  {"fingerprint", fingerprint},
                   {"machine", machine}, {"created", created.empty() ? utc_now() : created},
                   {"models", models},   {"devices", nlohmann::json::object()}};
  for (const auto& [id, d] : devices) {
    nlohmann::json ops = nlohmann::json::object();
    for (const auto& [name, o] : d.ops) {
      nlohmann::json shapes = nlohmann::json::object();
      for (const auto& [family, law] : o.shapes) shapes[family] = law_json(law);
      ops[name] = {{"x", o.by_flops ? "flops" : "bytes"}, {"all", law_json(o.all)}, {"shapes", shapes}};
    }
    j["devices"][id] = {{"name", d.name},
                        {"driver", d.driver},
                        {"timing", d.modeled ? "modeled" : "measured"},
                        {"ops", ops},
                        {"copies", points_json(d.copies)},
                        {"copy_fit", fit_json(d.copy)},
                        {"link_bandwidth", d.link_bandwidth}};
  }
  return j.dump(1) + "\n";
}

Profile Profile::parse(const std::string& text, const std::string& what) {
  const Reader r{what};
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    r.fail("corrupt", e.what());
  }
  if (!j.is_object() || !j.contains("format") || j["format"] != kFormat)
    r.fail("format", std::string("not a Tandem profile (expected \"format\": \"") + kFormat + "\")");
  Profile p;
  p.fingerprint = r.text(j, "fingerprint", "top level");
  p.machine = r.text(j, "machine", "top level");
  p.created = r.text(j, "created", "top level");
  const nlohmann::json& models = r.field(j, "models", "top level");
  if (!models.is_array()) r.fail("models", "must be a list of names");
  for (const nlohmann::json& m : models) {
    if (!m.is_string()) r.fail("models", "must be a list of names");
    p.models.push_back(m.get<std::string>());
  }
  const nlohmann::json& devs = r.field(j, "devices", "top level");
  if (!devs.is_object()) r.fail("devices", "must be an object keyed by device id");
  for (const auto& [id, dj] : devs.items()) {
    DeviceProfile d;
    const std::string at = "device " + id;
    d.name = r.text(dj, "name", at);
    d.driver = r.text(dj, "driver", at);
    const std::string timing = r.text(dj, "timing", at);
    if (timing != "modeled" && timing != "measured") r.fail(at, "\"timing\" must be measured or modeled");
    d.modeled = timing == "modeled";
    d.copies = r.points(r.field(dj, "copies", at), at + " copies");
    d.copy = r.fit(r.field(dj, "copy_fit", at), at + " copy_fit");
    d.link_bandwidth = r.number(dj, "link_bandwidth", at);
    const nlohmann::json& ops = r.field(dj, "ops", at);
    if (!ops.is_object()) r.fail(at, "\"ops\" must be an object keyed by op name");
    for (const auto& [name, oj] : ops.items()) {
      const std::string oat = at + " op " + name;
      OpProfile o;
      const std::string x = r.text(oj, "x", oat);
      if (x != "flops" && x != "bytes") r.fail(oat, "\"x\" must be flops or bytes");
      o.by_flops = x == "flops";
      o.all = r.law(r.field(oj, "all", oat), oat);
      const nlohmann::json& shapes = r.field(oj, "shapes", oat);
      if (!shapes.is_object()) r.fail(oat, "\"shapes\" must be an object keyed by shape family");
      for (const auto& [family, lj] : shapes.items()) o.shapes[family] = r.law(lj, oat + " shapes " + family);
      d.ops[name] = std::move(o);
    }
    p.devices[id] = std::move(d);
  }
  return p;
}

std::string machine_fingerprint(std::string* description) {
  const DeviceProps& cpu = cpu_device().props();
  std::string d = "cpu " + cpu.name + ", " + std::to_string(cpu.compute_units) + " cores, " +
                  std::to_string(cpu.memory_bytes >> 30) + " GiB";
  if (topo::topology_built()) {
    try {
      const topo::Topology t = topo::Topology::local_cpus();
      d += ", " + std::to_string(t.packages) + " packages, " + std::to_string(t.numa.size()) + " NUMA nodes";
    } catch (const Error&) {
      d += ", topology unreadable";
    }
  }
  uint64_t h = 1469598103934665603ull;  // FNV-1a, 64-bit
  for (unsigned char ch : d) h = (h ^ ch) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  if (description != nullptr) *description = d;
  return hex;
}

}  // namespace tandem::nn
