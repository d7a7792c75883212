// tandem calibrate: times every op of the given models on every device at several batch sizes
// and writes the machine's performance profile (see tandem/nn/calibration.h), which `tandem plan`
// predicts from. Prints each (device, op) fit with its error.
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "options.h"
#include "table.h"
#include "tandem/error.h"
#include "tandem/file.h"
#include "tandem/nn/calibration.h"

namespace tandem::cli {
namespace {

struct CalibrateCli {
  std::string devices = "all", profile;
  nn::CalibrateOptions options;
};

void run(CalibrateCli& o) {
  const std::vector<Device> devs = parse_device_list(o.devices);
  const std::string path = o.profile.empty() ? nn::default_profile_path() : o.profile;
  if (path.empty())
    throw Error(ErrorKind::invalid_argument, "", "calibrate",
                "nowhere to write the profile: $XDG_CACHE_HOME and $HOME/.cache are unset or not writable; name a "
                "file with --profile or $TANDEM_PROFILE");
  o.options.progress = [](const std::string& what) { std::fprintf(stderr, "calibrating %s ...\n", what.c_str()); };
  set_stage("calibrating " + o.devices);
  const nn::Profile p = nn::calibrate(devs, o.options);
  Table t({"device", "op", "sizes", "shapes", "one law for all shapes", "its error", "timing"});
  for (const auto& [id, d] : p.devices) {
    const char* timing = d.modeled ? "modeled" : "measured";
    for (const auto& [name, op] : d.ops)
      t.add({id, name, std::to_string(op.all.points.size()), std::to_string(op.shapes.size()),
             fmt("%.1f µs + %.3g·%s^%.2f", op.all.fit.c * 1e6, op.all.fit.a, op.by_flops ? "FLOPs" : "bytes",
                 op.all.fit.b),
             fmt("%.1f%%", op.all.fit.rel_error * 100), timing});
    if (!d.copies.empty())
      t.add({id, "copy host<->device", std::to_string(d.copies.size()), "",
             fmt("%.1f µs + bytes / (%.2f GB/s)", d.copy.c * 1e6, d.copy.a > 0 ? 1e-9 / d.copy.a : 0.0),
             fmt("%.1f%%", d.copy.rel_error * 100), timing});
  }
  std::printf("performance profile of %s\n", p.machine.c_str());
  t.print();
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  write_file_atomic(path, p.to_json());
  std::printf("written to %s (fingerprint %s)\n", path.c_str(), p.fingerprint.c_str());
}

}  // namespace

void add_calibrate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("calibrate", "Time every op on every device and write this machine's profile");
  auto o = std::make_shared<CalibrateCli>();
  cmd->add_option("--devices", o->devices, "devices (comma-separated ids) or all")->capture_default_str();
  cmd->add_option("--models", o->options.models, "models whose ops are timed (cnn, mlp or files)")
      ->delimiter(',')
      ->capture_default_str()
      ->check(model_source());
  cmd->add_option("--batches", o->options.batches, "batch sizes (the size classes)")
      ->delimiter(',')
      ->capture_default_str()
      ->check(whole(1, 1 << 20));
  cmd->add_option("--repeats", o->options.repeats, "timed passes per batch size (1 on modeled devices)")
      ->capture_default_str()
      ->check(whole(1, 1000));
  cmd->add_option("--profile", o->profile,
                  "where to write it (default $TANDEM_PROFILE or ~/.cache/tandem/profile.json)")
      ->check(output_file());
  cmd->callback([o] { run(*o); });
}

}  // namespace tandem::cli
