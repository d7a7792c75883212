// Backend-free parts of the topology: names, distance classes, and lookups.
#include <algorithm>
#include <numeric>
#include <tuple>

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

namespace {

// Nearest first: package, host bridge, switch, bus.
auto locality(const Topology& t, int i) {
  const PciDevice& d = t.devices.at(static_cast<size_t>(i));
  return std::tuple(d.package, d.host_bridge, d.pcie_switch, d.bus_id);
}

}  // namespace

std::vector<int> ring_order(const Topology& t, const std::vector<int>& devices) {
  std::vector<int> order = devices;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return locality(t, a) < locality(t, b); });
  return order;
}

std::vector<int> map_ranks(const Topology& t, int ranks, PciKind kind) {
  const std::vector<int> order = ring_order(t, t.of_kind(kind));
  std::vector<int> out;
  if (order.empty()) return out;
  for (int r = 0; r < ranks; ++r) out.push_back(order[static_cast<size_t>(r) % order.size()]);
  return out;
}

std::vector<int> ring_positions(const Topology& t, const std::vector<int>& map) {
  std::vector<int> ranks(map.size());
  std::iota(ranks.begin(), ranks.end(), 0);
  std::stable_sort(ranks.begin(), ranks.end(), [&](int a, int b) {
    return locality(t, map[static_cast<size_t>(a)]) < locality(t, map[static_cast<size_t>(b)]);
  });
  std::vector<int> position(map.size());
  for (size_t p = 0; p < ranks.size(); ++p) position[static_cast<size_t>(ranks[p])] = static_cast<int>(p);
  return position;
}

int numa_for(const Topology& t, int device) {
  if (device >= 0 && static_cast<size_t>(device) < t.devices.size() && t.devices[static_cast<size_t>(device)].numa >= 0)
    return t.devices[static_cast<size_t>(device)].numa;
  return t.numa.empty() ? 0 : t.numa.front().index;
}

}  // namespace tandem::topo
