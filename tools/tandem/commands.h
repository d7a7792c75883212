// Subcommands of the `tandem` CLI; each registers its options on the app and runs when chosen.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "tandem/device.h"

namespace tandem::cli {

/// The whole command line: global options and every subcommand below.
std::unique_ptr<CLI::App> make_app();

/// What the running command is doing ("loading the training data from DIR"): set at each phase,
/// so that a failure with nothing more to say (a library's allocation failing) still says where.
void set_stage(std::string what);
const std::string& stage();

void add_info_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_topo_command(CLI::App& app);
void add_plan_command(CLI::App& app);
void add_calibrate_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_model_command(CLI::App& app);

/// "all", or comma-separated device ids ("cpu:0,opencl:0"); Error naming an unknown one.
std::vector<Device> parse_device_list(const std::string& text);

}  // namespace tandem::cli
