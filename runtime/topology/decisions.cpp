// Backend-free parts of the topology: names, distance classes, and lookups.
#include "tandem/topology.h"

namespace tandem::topo {

std::string_view pci_kind_name(PciKind k) {
  switch (k) {
    case PciKind::gpu:
      return "gpu";
    case PciKind::fpga:
      return "fpga";
    case PciKind::nic:
      return "nic";
    case PciKind::other:
      break;
  }
  return "other";
}

std::string_view distance_name(Distance d) {
  switch (d) {
    case Distance::same_switch:
      return "same PCIe switch";
    case Distance::same_host_bridge:
      return "same host bridge";
    case Distance::same_numa:
      return "same NUMA node";
    case Distance::same_package:
      return "same package";
    case Distance::cross_socket:
      break;
  }
  return "cross-socket";
}

std::vector<int> Topology::of_kind(PciKind k) const {
  std::vector<int> out;
  for (size_t i = 0; i < devices.size(); ++i)
    if (devices[i].kind == k) out.push_back(static_cast<int>(i));
  return out;
}

Distance Topology::distance(int a, int b) const {
  const PciDevice &x = devices.at(static_cast<size_t>(a)), &y = devices.at(static_cast<size_t>(b));
  if (x.pcie_switch >= 0 && x.pcie_switch == y.pcie_switch) return Distance::same_switch;
  if (x.package == y.package && x.host_bridge == y.host_bridge) return Distance::same_host_bridge;
  if (x.numa >= 0 && x.numa == y.numa) return Distance::same_numa;
  if (x.package >= 0 && x.package == y.package) return Distance::same_package;
  return Distance::cross_socket;
}

int numa_for(const Topology& t, int device) {
  if (device >= 0 && static_cast<size_t>(device) < t.devices.size() && t.devices[static_cast<size_t>(device)].numa >= 0)
    return t.devices[static_cast<size_t>(device)].numa;
  return t.numa.empty() ? 0 : t.numa.front().index;
}

}  // namespace tandem::topo
