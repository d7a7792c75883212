// Calibration: what each op costs on each device of this machine, measured once and kept as a
// profile, so that placement predicts from measurements instead of guesses.
//
// The ops timed are the ones models really run: each model's forward and backward pass runs at
// several batch sizes (the size classes) on every device, and every op call is synchronized and
// timed on its own — repeated, outliers rejected (beyond 3 scaled MADs of the median), the median
// kept. Per (device, op) a power law t = c + a·x^b is fitted over the sizes (x: the op's FLOPs,
// or its bytes for ops that move more bytes than they compute), so sizes never measured are
// predicted too. Modeled devices contribute their performance model's time (one pass: the model
// is deterministic). Copies between host and device are timed the same way (t = c + bytes/bw),
// and capped by the PCIe link's bandwidth where hwloc knows it.
//
// A profile is keyed by a fingerprint of the machine (CPU, cores, memory, topology), and each
// device in it by its name and driver: a profile from another machine, or a corrupt one, is
// rejected with the reason, and load_or_calibrate then measures afresh.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tandem/nn/model.h"
#include "tandem/nn/placement.h"
#include "tandem/op.h"

namespace tandem::nn {

/// Median of repeated timings after dropping those further than 3 scaled MADs from the median.
struct Timing {
  double seconds = 0;
  int kept = 0, total = 0;
};
Timing robust_median(std::vector<double> samples);

/// t(x) = c + a·x^b with c, a ≥ 0, fitted for the least relative squared error (b searched in
/// [0.3, 1.5]; fixed at 1 when `linear` or with fewer than three sizes).
struct PowerFit {
  double c = 0, a = 0, b = 1;
  double rel_error = 0;  ///< RMS of the relative residuals at the fitted points
  double predict(double x) const;
};
PowerFit fit_power(const std::vector<std::pair<double, double>>& x_seconds, bool linear = false);

struct TimedPoint {
  double x = 0, seconds = 0;  ///< x: FLOPs or bytes
  int kept = 0, total = 0;    ///< samples kept after outlier rejection, of those taken
};

struct SizeLaw {
  std::vector<TimedPoint> points;
  PowerFit fit;
};

struct OpProfile {
  bool by_flops = true;  ///< x is the op's FLOPs (else its bytes)
  SizeLaw all;           ///< every call of the op
  /// Per shape family: one layer's call of the op at several batch sizes (see shape_family).
  /// Predicts that call better than `all`.
  std::map<std::string, SizeLaw> shapes;
};

/// Its tensors' shapes without their first (batch) dimension: "[256][256][128]". Calls that
/// differ only in their parameters (a layer's two backward GEMMs) share it; calibration and
/// planning tell them apart by their order within a pass ("#0", "#1").
std::string shape_family(const OpCall& call);

struct DeviceProfile {
  std::string name, driver;  ///< the device's props() when calibrated: a profile of other hardware is not used
  bool modeled = false;
  std::map<std::string, OpProfile> ops;  ///< by op name
  std::vector<TimedPoint> copies;        ///< one-way host↔device copies, x = bytes (none: host memory)
  PowerFit copy;                         ///< seconds per copy of x bytes (b = 1)
  double link_bandwidth = 0;             ///< bytes/s of its PCIe link per hwloc; 0 = unknown
};

struct Profile {
  std::string fingerprint;  ///< of the machine it was measured on
  std::string machine;      ///< what the fingerprint describes, for messages
  std::string created;      ///< UTC time, ISO 8601
  std::vector<std::string> models;
  std::map<std::string, DeviceProfile> devices;  ///< by device id

  /// Predicted seconds of one op call on a device — from its shape family's law when that was
  /// measured at two sizes or more, else the op's — or nullopt when the op was not calibrated there.
  std::optional<double> predict(const std::string& device, const OpDesc& op, const OpCost& cost,
                                const std::string& family = "") const;
  /// Predicted seconds to copy `bytes` between the host and the device (0 for host memory).
  double copy_seconds(const std::string& device, double bytes) const;

  std::string to_json() const;
  /// Parses and checks a profile; Error(invalid_argument) naming `what` and the defect.
  static Profile parse(const std::string& text, const std::string& what);
};

/// A stable hash of this machine: CPU model, cores, memory, packages and NUMA nodes (hwloc);
/// `description` receives the text hashed. Devices are checked one by one (name and driver).
std::string machine_fingerprint(std::string* description = nullptr);

struct CalibrateOptions {
  std::vector<std::string> models = {"cnn"};   ///< names or model files whose ops are timed
  std::vector<int64_t> batches = {4, 16, 64};  ///< size classes
  int repeats = 7;                             ///< timed passes per size class (1 on modeled devices)
  std::function<void(const std::string&)> progress;
};

Profile calibrate(const std::vector<Device>& devices, const CalibrateOptions& o);

/// The profile at `path` when it parses, comes from this machine, and covers the devices and
/// models; otherwise calibrates and saves it there (atomically; an empty `path`: not saved).
/// `why` receives the reason the file was not used ("" when it was).
Profile load_or_calibrate(const std::string& path, const std::vector<Device>& devices, const CalibrateOptions& o,
                          std::string* why = nullptr);

/// The default profile file: $TANDEM_PROFILE, else $XDG_CACHE_HOME (or $HOME/.cache)/tandem/profile.json;
/// "" when neither names an absolute directory that is (or can be made) writable.
std::string default_profile_path();

/// The planner's input for `spec` at `batch` on `devices`, predicted from the profile: each
/// layer's op calls (traced once on the CPU) costed on every device that holds all its ops, and
/// copies between devices through the host. Error(invalid_argument) naming an op the profile lacks.
PlanInput plan_input(const ModelSpec& spec, int64_t batch, const std::vector<Device>& devices, const Profile& p);

}  // namespace tandem::nn
