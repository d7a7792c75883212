// The `tandem` command line: its global options and every subcommand, built once for main and for
// the tests that walk every option (tests/cli/test_options.cpp).
#include "commands.h"
#include "tandem/log.h"

namespace tandem::cli {

namespace {
std::string& current_stage() {
  static std::string s;
  return s;
}
}  // namespace

void set_stage(std::string what) { current_stage() = std::move(what); }
const std::string& stage() { return current_stage(); }

std::unique_ptr<CLI::App> make_app() {
  auto app = std::make_unique<CLI::App>("Tandem: a runtime for heterogeneous accelerators (CPU, CUDA, OpenCL, FPGA)",
                                        "tandem");
  app->require_subcommand(1);
  auto level = std::make_shared<std::string>();
  app->add_option("--log", *level, "log level: trace, debug, info, warn, error, off (default: $TANDEM_LOG or warn)")
      ->check([](const std::string& v) { return parse_log_level(v) ? std::string() : "not a log level: " + v; });
  app->parse_complete_callback([level] {
    if (!level->empty()) set_log_level(*parse_log_level(*level));
  });
  add_info_command(*app);
  add_bench_command(*app);
  add_train_command(*app);
  add_topo_command(*app);
  add_plan_command(*app);
  add_calibrate_command(*app);
  add_compare_command(*app);
  add_model_command(*app);
  return app;
}

}  // namespace tandem::cli
