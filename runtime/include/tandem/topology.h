// The machine as hwloc sees it: packages, NUMA nodes, cores, and the PCI devices that matter to
// placement (NVIDIA GPUs 10de, Xilinx FPGAs 10ee, NICs) with where they hang. From it come the
// decisions a multi-rank job needs: which device each rank drives, the NUMA node its threads
// run on, and a ring order that keeps neighbours close.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tandem::topo {

enum class PciKind { gpu, fpga, nic, other };
std::string_view pci_kind_name(PciKind k);

struct PciDevice {
  std::string bus_id;  ///< "0000:11:00.0"
  uint16_t vendor = 0, device = 0;
  PciKind kind = PciKind::other;
  std::string name;           ///< the OS device's name where hwloc has one ("cuda0", "eth0"), else empty
  int numa = -1;              ///< NUMA node (os index) nearest the device; -1 if unknown
  int package = -1;           ///< package (socket) the device hangs under
  int host_bridge = 0;        ///< index of its host bridge (PCIe root)
  int pcie_switch = -1;       ///< index of the PCIe switch directly above it; -1: on the host bridge
  double link_bandwidth = 0;  ///< bytes/s of its PCIe link (hwloc's linkspeed); 0 = unknown
};

struct NumaNode {
  int index = 0;  ///< os index
  int package = -1;
  int cores = 0;
  uint64_t memory = 0;  ///< bytes
  std::string cpuset;   ///< hwloc's list form, e.g. "0-3"
};

/// How far two devices are, nearest first: below one PCIe switch, on one host bridge, in one
/// NUMA node, in one package, across packages (sockets).
enum class Distance { same_switch, same_host_bridge, same_numa, same_package, cross_socket };
std::string_view distance_name(Distance d);

struct Topology {
  int packages = 0, cores = 0, pus = 0;
  std::vector<NumaNode> numa;
  std::vector<PciDevice> devices;  ///< GPUs, FPGAs, NICs (other PCI devices are left out)
  std::string source;              ///< "this machine" or the XML path

  /// This machine (hwloc's discovery, I/O devices included). Throws Error(unsupported) in a build
  /// without hwloc.
  static Topology local();
  /// This machine's packages, NUMA nodes and cores alone (no PCI devices): what a description of
  /// the CPU side needs, without the I/O discovery (hwloc's PCI plugin, which keeps allocations
  /// it cannot free).
  static Topology local_cpus();
  /// A topology saved as XML (lstopo --of xml, or tests/data/*.xml); Error(io) naming the file if
  /// it cannot be read or parsed.
  static Topology from_xml(const std::string& path);

  std::vector<int> of_kind(PciKind k) const;  ///< indices into devices
  Distance distance(int a, int b) const;
};

/// Which device each rank drives: ranks fill the accelerators of one package (in bus order)
/// before the next, so consecutive ranks — ring neighbours — share switches and sockets; with
/// more ranks than devices they wrap around. Empty when the topology has none of that kind.
std::vector<int> map_ranks(const Topology& t, int ranks, PciKind kind);

/// An order of the given devices for a ring collective that keeps neighbours close: grouped by
/// package, then host bridge, then switch, so the ring crosses each socket boundary only twice.
std::vector<int> ring_order(const Topology& t, const std::vector<int>& devices);

/// Each rank's position in a ring that keeps neighbours close, given the device each rank drives
/// (map_ranks): ranks sorted by their device's locality, ties by rank — with more ranks than
/// devices, the ranks sharing a device become neighbours. Splitting the communicator with these
/// positions as keys makes rank order, which MPI's and NCCL's ring algorithms follow, this ring.
std::vector<int> ring_positions(const Topology& t, const std::vector<int>& map);

/// The NUMA node a rank driving `device` should run on (its device's, else 0).
int numa_for(const Topology& t, int device);

/// Binds the calling thread's process to the cores of a NUMA node (hwloc_set_cpubind). Returns
/// false (and leaves the binding alone) when the node is unknown or binding is not permitted.
bool bind_to_numa(const Topology& t, int numa);

/// True when this build reads topologies (hwloc found).
bool topology_built();

}  // namespace tandem::topo
