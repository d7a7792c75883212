// The roofline of a device (its stated peak and bandwidth, or a measured bandwidth where it states
// none), the figures derived from a row's timing and cost, and order statistics.
#include <algorithm>
#include <ctime>

#include "tandem/clock.h"
#include "tandem/compare/compare.h"
#include "tandem/ops.h"
#include "tandem/stream.h"

namespace tandem::cli::compare {
namespace {


// The cost of the one op it watches.
class CostOf : public OpObserver {
 public:
  void before(Stream&, const OpCall&) override {}
  void after(Stream&, const OpCall&, const OpCost& c) override { cost.flops += c.flops, cost.bytes += c.bytes; }
  OpCost cost;
};

// Memory bandwidth when the device does not state it: the faster of two probes over 64 MiB vectors,
// each the best of 5 calls after a warm-up: axpy (a STREAM-like triad: read x, read y, write y; its
// bytes from the op's OpCost) and a device-local copy (read + write), which is the driver's own
// memcpy where a backend's axpy kernel is slower than its memory (PoCL).
double probe_bandwidth(const Device& d) {
  const int64_t n = int64_t{1} << 24;
  const Tensor x = Tensor::zeros(d, {n}), y = Tensor::zeros(d, {n});
  Stream s(d);
  const auto best_of = [&](auto&& f) {
    double best = 1e300;
    for (int r = 0; r < 6; ++r) {
      s.synchronize();
      const DeviceTimer timer(d);
      f();
      s.synchronize();
      if (r > 0) best = std::min(best, timer.seconds());
    }
    return best;
  };
  double bw = 2.0 * static_cast<double>(x.nbytes()) / best_of([&] { copy(x, y); });
  if (d.supports(opdesc::axpy)) {
    CostOf tracer;
    const double t = best_of([&] {
      const ScopedOpObserver watch(tracer);
      ops::axpy(s, 1.0f, x, y);
    });
    bw = std::max(bw, tracer.cost.bytes / 6 / t);
  }
  return bw;
}

}  // namespace

Roof roof_of(const Device& d, const std::function<void(const std::string&)>& progress) {
  Roof r;
  const DeviceProps& p = d.props();
  r.peak_flops = p.peak_flops_f32;
  r.peak_label = p.peak_flops_f32 <= 0 ? "unknown" : p.modeled ? "modeled" : "nominal";
  r.peak_source = p.peak_flops_f32 <= 0 ? "not stated by the device"
                  : p.modeled           ? "the performance model's peak (DeviceProps)"
                                        : "spec sheet or ISA (DeviceProps)";
  r.bandwidth = p.mem_bandwidth;
  if (p.mem_bandwidth > 0) {
    r.bandwidth_label = p.modeled ? "modeled" : "nominal";
    r.bandwidth_source = p.modeled ? "the performance model's memory bandwidth (DeviceProps)" : "DeviceProps";
    return r;
  }
  if (progress) progress(d.id() + ": memory bandwidth unknown, measuring it (axpy and copy over 64 MiB)");
  r.bandwidth = probe_bandwidth(d);
  r.bandwidth_label = r.bandwidth > 0 ? (p.modeled ? "modeled" : "measured") : "unknown";
  r.bandwidth_source = r.bandwidth > 0 ? "not stated by the device; the faster of axpy (STREAM-like) and "
                                         "a device-local copy over 64 MiB vectors, best of 5 each"
                                       : "not stated, and not measurable";
  return r;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string_view mode_name(Mode m) { return m == Mode::infer ? "infer" : "train"; }

std::string_view kind_name(RowKind k) {
  switch (k) {
    case RowKind::layer:
      return "layer";
    case RowKind::model:
      return "model";
    case RowKind::optimizer:
      return "optimizer";
    case RowKind::codec:
      return "codec";
  }
  return "?";
}

Stats summarize(std::vector<double> v) {
  Stats s;
  s.samples = static_cast<int>(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const auto at = [&](double q) {  // linear interpolation between order statistics
    const double pos = q * static_cast<double>(v.size() - 1);
    const size_t i = static_cast<size_t>(pos);
    return i + 1 < v.size() ? v[i] + (pos - static_cast<double>(i)) * (v[i + 1] - v[i]) : v[i];
  };
  s.min = v.front(), s.max = v.back(), s.median = at(0.5), s.q1 = at(0.25), s.q3 = at(0.75);
  return s;
}

double Roof::attainable(double intensity) const {
  if (peak_flops <= 0 || bandwidth <= 0 || !(intensity > 0)) return 0;
  return std::min(peak_flops, intensity * bandwidth);
}

Figures figures(const Row& r, int64_t batch, const Roof& roof) {
  Figures f;
  if (!r.ok() || r.latency.median <= 0) return f;
  const double t = r.latency.median;
  f.throughput = static_cast<double>(batch) / t;
  f.gflops = r.flops / t / 1e9;
  f.gbytes = r.bytes / t / 1e9;
  if (r.bytes > 0) f.intensity = r.flops / r.bytes;
  const double attainable = roof.attainable(f.intensity);
  if (attainable > 0) f.roof_gflops = attainable / 1e9, f.share = r.flops / t / attainable;
  return f;
}

}  // namespace tandem::cli::compare
