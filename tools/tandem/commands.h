// Subcommands of the `tandem` CLI; each registers its options on the app and runs when chosen.
#pragma once

#include <CLI/CLI.hpp>

namespace tandem::cli {

void add_info_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_topo_command(CLI::App& app);
void add_plan_command(CLI::App& app);

}  // namespace tandem::cli
