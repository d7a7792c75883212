// tandem compare: every layer and the whole model run on every selected device at each batch size,
// timed (median and spread over repeats after warm-up), costed from the ops' OpCost, set against
// each device's roofline, and checked against the CPU's outputs on the same inputs and weights.
// Modeled devices (fpga-sim) report their performance model's device time, labeled so.
// measure.cpp runs it; output.cpp writes the tables, JSON and CSV; html.cpp the charts and report.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tandem/compression/codec.h"
#include "tandem/device.h"
#include "tandem/nn/model.h"
#include "tandem/nn/prune.h"

namespace tandem::cli::compare {

enum class Mode { infer, train };
std::string_view mode_name(Mode m);

struct Config {
  nn::ModelSpec spec;
  std::string model_source;  ///< what --model named
  std::vector<Device> devices;
  std::vector<int64_t> batches;
  Mode mode = Mode::infer;
  std::string prune_text = "none";
  nn::PruneConfig prune;
  std::optional<compression::CodecSpec> codec;  ///< train mode only
  int repeats = 5, warmup = 1;
  uint64_t seed = 1;
  std::function<void(const std::string&)> progress;
};

/// Order statistics of repeated timings (seconds); q1/q3 interpolated as numpy does.
struct Stats {
  double median = 0, min = 0, max = 0, q1 = 0, q3 = 0;
  int samples = 0;
};
Stats summarize(std::vector<double> samples);

enum class RowKind { layer, model, optimizer, codec };
std::string_view kind_name(RowKind k);

/// One layer, the whole model, the optimizer update or the gradient codec, on one device at one batch.
struct Row {
  RowKind kind = RowKind::layer;
  std::string name;
  std::string status = "ok";    ///< "ok", or "unsupported" (reason says why; no figures)
  std::string reason;           ///< why unsupported, or a caveat on an ok row
  Stats latency;                ///< seconds per pass (forward; train: forward + backward, ...)
  double flops = 0, bytes = 0;  ///< traced OpCost of one pass
  double message_bytes = 0;     ///< codec rows: bytes of the wire messages per step
  bool ok() const { return status == "ok"; }
};

/// Largest differences from the CPU reference over a set of values.
struct ErrorStat {
  bool computed = false;
  double max_abs = 0;  ///< max |x − ref|
  double max_rel = 0;  ///< max |x − ref| / max |ref| (normwise: elements near zero do not blow it up)
  std::string worst;   ///< the tensor holding max_abs (gradients: the parameter)
};
struct Correctness {
  ErrorStat logits, gradients;  ///< gradients: train mode only
  std::string note;
};

/// The roofline's two figures, each with where it comes from.
struct Roof {
  double peak_flops = 0, bandwidth = 0;     ///< FLOP/s, bytes/s; 0 = unknown
  std::string peak_label, bandwidth_label;  ///< "nominal", "measured", "modeled" or "unknown"
  std::string peak_source, bandwidth_source;
  /// min(peak, intensity × bandwidth) in FLOP/s; 0 when either is unknown.
  double attainable(double intensity) const;
};

struct DeviceEntry {
  Device device;
  std::string id, name, driver, kind;
  bool modeled = false;
  Roof roof;
};

struct Run {
  size_t device = 0;  ///< index into Result::devices
  int64_t batch = 0;
  std::vector<Row> rows;  ///< layers in order, then model, optimizer, codec (those that apply)
  Correctness correctness;
  int repeats = 0, warmup = 0;  ///< as run (modeled devices: 1 and 0, their model being deterministic)
};

struct Result {
  std::string created;  ///< UTC, ISO 8601
  std::vector<DeviceEntry> devices;
  std::vector<Run> runs;  ///< device-major, then batch
  double sparsity = 0;    ///< of the prunable weights after --pruned
  int64_t parameters = 0;
};

Result run(const Config& c);

/// The device's roofline: peak and bandwidth from DeviceProps; a bandwidth the device does not
/// state is measured (a STREAM-like axpy), labeled so. `progress` hears about the measurement.
Roof roof_of(const Device& d, const std::function<void(const std::string&)>& progress);
std::string utc_now();  ///< ISO 8601

/// Figures derived from a row; NaN where unknown (status not ok, or the roof unknown).
struct Figures {
  double throughput = NAN;  ///< samples/s
  double gflops = NAN, gbytes = NAN, intensity = NAN, roof_gflops = NAN, share = NAN;
};
Figures figures(const Row& r, int64_t batch, const Roof& roof);

/// "measured" or "modeled": the label of every figure of this device.
inline const char* label(const DeviceEntry& d) { return d.modeled ? "modeled" : "measured"; }

}  // namespace tandem::cli::compare

// Outputs (output.cpp, html.cpp). The JSON and CSV schemas are documented in tools/tandem/COMPARE.md.
namespace tandem::cli::compare {

/// Caveats every output repeats: how figures were taken, what is modeled, pruning, energy, roofs.
std::vector<std::string> notes(const Config& c, const Result& r);
/// Why no energy figure is given (the same text in the JSON, the CSV's schema and the report).
extern const char* const kEnergyUnavailable;

std::string to_json(const Config& c, const Result& r);  ///< schema "tandem-compare/1"
std::string to_csv(const Config& c, const Result& r);
void print_tables(const Config& c, const Result& r);

std::string throughput_svg(const Config& c, const Result& r, const std::string& id);
std::string roofline_svg(const Config& c, const Result& r, size_t device);
std::string to_html(const Config& c, const Result& r);

}  // namespace tandem::cli::compare
