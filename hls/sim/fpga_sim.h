// The fpga-sim device: the HLS cores executed in C simulation (their C++ run on the host, so
// results are exactly what the cores compute) with time from the performance model. Its memory
// sits behind a modeled PCIe link; every kernel and copy advances its modeled clock
// (Device::modeled_seconds). Everything it reports about time is labeled modeled.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tandem/backend.h"

namespace tandem::fpga {

/// One device per card named in TANDEM_FPGA_SIM (comma-separated model keys, e.g. "u250,u55c";
/// default "u250"; "none" for no device).
std::unique_ptr<Backend> make_sim_backend();

/// The cards a TANDEM_FPGA_SIM value names; Error(invalid_argument) naming a bad entry.
std::vector<std::string> sim_cards(const std::string& spec);

}  // namespace tandem::fpga
