// tandem: the command-line front end (info, bench; train, compare, plan arrive with their issues).
#include <cstdio>

#include "commands.h"
#include "tandem/error.h"
#include "tandem/log.h"

int main(int argc, char** argv) {
  CLI::App app{"Tandem: a runtime for heterogeneous accelerators (CPU, CUDA, OpenCL, FPGA)"};
  app.require_subcommand(1);
  std::string level;
  app.add_option("--log", level, "log level: trace, debug, info, warn, error, off (default: $TANDEM_LOG or warn)")
      ->check(
          [](const std::string& v) { return tandem::parse_log_level(v) ? std::string() : "not a log level: " + v; });
  app.parse_complete_callback([&] {
    if (!level.empty()) tandem::set_log_level(*tandem::parse_log_level(level));
  });
  tandem::cli::add_info_command(app);
  tandem::cli::add_bench_command(app);
  tandem::cli::add_train_command(app);
  tandem::cli::add_topo_command(app);
  tandem::cli::add_plan_command(app);
  tandem::cli::add_calibrate_command(app);
  tandem::cli::add_compare_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const tandem::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem: %s\n", e.what());
    return 1;
  }
  return 0;
}
