// tandem info: devices, their properties, compiled-in backends and library versions.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "build_info.h"
#include "commands.h"
#include "table.h"
#include "tandem/blas.h"
#include "tandem/backend.h"
#include "tandem/ops.h"

namespace tandem::cli {
namespace {

struct ModuleLine {
  std::string name, state, detail;
};

std::vector<ModuleLine> build_modules() {
  std::vector<ModuleLine> out;
  std::istringstream in(TANDEM_BUILD_MODULES);
  for (std::string line; std::getline(in, line);) {
    const auto a = line.find('|'), b = line.find('|', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    out.push_back({line.substr(line.find_first_not_of(' '), a - line.find_first_not_of(' ')),
                   line.substr(a + 1, b - a - 1), line.substr(b + 1)});
  }
  return out;
}

std::vector<std::string> supported_ops(const Device& d) {
  std::vector<std::string> names;
  for (const OpDesc* op : all_ops())
    if (d.supports(*op)) names.emplace_back(op->name);
  return names;
}

nlohmann::json to_json() {
  nlohmann::json j;
  j["version"] = TANDEM_VERSION;
  j["build"] = {{"type", TANDEM_BUILD_TYPE}, {"compiler", TANDEM_COMPILER}};
  for (const auto& m : build_modules())
    j["build"]["modules"].push_back({{"name", m.name}, {"state", m.state}, {"detail", m.detail}});
  for (const Backend* b : backends()) j["backends"].push_back({{"name", b->name()}, {"version", b->version()}});
  for (const Device& d : devices()) {
    const DeviceProps& p = d.props();
    j["devices"].push_back({{"id", d.id()},
                            {"kind", device_kind_name(d.kind())},
                            {"index", d.index()},
                            {"name", p.name},
                            {"memory_bytes", p.memory_bytes},
                            {"peak_flops_f32", p.peak_flops_f32},
                            {"peak_flops_f16", p.peak_flops_f16},
                            {"mem_bandwidth", p.mem_bandwidth},
                            {"compute_units", p.compute_units},
                            {"numa_node", p.numa_node},
                            {"pci_address", p.pci_address},
                            {"driver", p.driver},
                            {"host_accessible", p.host_accessible},
                            {"timing", p.modeled ? "modeled" : "measured"},
                            {"slowdown", p.slowdown},
                            {"ops", supported_ops(d)}});
  }
  const BlasKernels& blas = blas_kernels();
  j["blas"] = {{"library", blas.library}, {"kernels", blas.kernels},         {"isa", blas.isa},
               {"cpu_isa", blas.cpu_isa}, {"coretype_env", blas.coretype}, {"slower_than_cpu", blas.slower_than_cpu}};
  return j;
}

void print_text() {
  std::printf("Tandem %s (%s, %s)\n\n", TANDEM_VERSION, TANDEM_BUILD_TYPE, TANDEM_COMPILER);
  Table devs({"device", "name", "memory", "peak f32 (nominal)", "bandwidth", "units", "NUMA", "PCI", "timing", "ops"});
  const size_t total_ops = all_ops().size();
  for (const Device& d : devices()) {
    const DeviceProps& p = d.props();
    devs.add({d.id(), p.name, format_bytes(static_cast<double>(p.memory_bytes)),
              p.peak_flops_f32 > 0 ? fmt("%.1f GFLOP/s", p.peak_flops_f32 / 1e9) : "unknown",
              p.mem_bandwidth > 0 ? fmt("%.1f GB/s", p.mem_bandwidth / 1e9) : "unknown",
              std::to_string(p.compute_units), p.numa_node >= 0 ? std::to_string(p.numa_node) : "-",
              p.pci_address.empty() ? "-" : p.pci_address, p.modeled ? "modeled" : "measured",
              fmt("%zu/%zu", supported_ops(d).size(), total_ops)});
  }
  devs.print();
  for (const Device& d : devices())
    if (!d.props().slowdown.empty()) std::printf("\nwarning: %s: %s\n", d.id().c_str(), d.props().slowdown.c_str());
  std::printf("\nBackends compiled in:\n");
  for (const Backend* b : backends()) std::printf("  %-8s %s\n", b->name().c_str(), b->version().c_str());
  std::printf("\nBuild configuration (dependencies and optional modules):\n");
  Table mods({"module", "state", "detail"});
  for (const auto& m : build_modules()) mods.add({m.name, m.state, m.detail});
  mods.print();
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "List devices, their properties, backends and library versions");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "print JSON instead of tables");
  cmd->callback([json] {
    if (*json)
      std::cout << to_json().dump(2) << "\n";
    else
      print_text();
  });
}

}  // namespace tandem::cli
