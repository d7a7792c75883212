// Topology decisions on a synthetic machine (tests/data/topo-2s.xml: 2 sockets, each with a
// PCIe switch holding two H100s, an Alveo U250 and a NIC on the host bridge).
#include <gtest/gtest.h>

#include <algorithm>

#include "../ops/harness.h"
#include "tandem/topology.h"

namespace tandem::topo {
namespace {

const Topology& two_sockets() {
  static const Topology t = Topology::from_xml(TANDEM_SOURCE_DIR "/tests/data/topo-2s.xml");
  return t;
}

int by_name(const Topology& t, const std::string& name) {
  for (size_t i = 0; i < t.devices.size(); ++i)
    if (t.devices[i].name == name) return static_cast<int>(i);
  return -1;
}

TEST(Topology, ReadsPackagesNumaNodesAndDevices) {
  if (!topology_built()) GTEST_SKIP() << "built without hwloc";
  const Topology& t = two_sockets();
  EXPECT_EQ(t.packages, 2);
  EXPECT_EQ(t.cores, 8);
  ASSERT_EQ(t.numa.size(), 2u);
  EXPECT_EQ(t.numa[0].cpuset, "0-3");
  EXPECT_EQ(t.numa[1].cpuset, "4-7");
  EXPECT_EQ(t.of_kind(PciKind::gpu).size(), 4u);
  EXPECT_EQ(t.of_kind(PciKind::fpga).size(), 2u);
  EXPECT_EQ(t.of_kind(PciKind::nic).size(), 2u);
  const PciDevice& gpu2 = t.devices[static_cast<size_t>(by_name(t, "cuda2"))];
  EXPECT_EQ(gpu2.vendor, 0x10de);
  EXPECT_EQ(gpu2.package, 1);
  EXPECT_EQ(gpu2.numa, 1);
  EXPECT_GE(gpu2.pcie_switch, 0);
  EXPECT_DOUBLE_EQ(gpu2.link_bandwidth, 16e9);  // pci_link_speed="16.000000" (GB/s) in the XML
  const PciDevice& fpga = t.devices[static_cast<size_t>(t.of_kind(PciKind::fpga)[0])];
  EXPECT_EQ(fpga.vendor, 0x10ee);
  EXPECT_EQ(fpga.pcie_switch, -1) << "the FPGA sits on the host bridge";
}

TEST(Topology, DistanceClasses) {
  if (!topology_built()) GTEST_SKIP() << "built without hwloc";
  const Topology& t = two_sockets();
  const int g0 = by_name(t, "cuda0"), g1 = by_name(t, "cuda1"), g2 = by_name(t, "cuda2");
  const int f0 = t.of_kind(PciKind::fpga)[0], nic0 = by_name(t, "eth0");
  EXPECT_EQ(t.distance(g0, g1), Distance::same_switch);
  EXPECT_EQ(t.distance(g0, f0), Distance::same_host_bridge);
  EXPECT_EQ(t.distance(g0, nic0), Distance::same_host_bridge);
  EXPECT_EQ(t.distance(g0, g2), Distance::cross_socket);
}

TEST(Topology, RanksFillASocketBeforeTheNextAndTheRingCrossesTwice) {
  if (!topology_built()) GTEST_SKIP() << "built without hwloc";
  const Topology& t = two_sockets();
  const std::vector<int> map = map_ranks(t, 4, PciKind::gpu);
  ASSERT_EQ(map.size(), 4u);
  std::vector<std::string> names;
  for (int d : map) names.push_back(t.devices[static_cast<size_t>(d)].name);
  EXPECT_EQ(names, (std::vector<std::string>{"cuda0", "cuda1", "cuda2", "cuda3"}));
  EXPECT_EQ(numa_for(t, map[0]), 0);
  EXPECT_EQ(numa_for(t, map[3]), 1);
  EXPECT_EQ(map_ranks(t, 6, PciKind::gpu)[5], map[1]) << "more ranks than GPUs wrap around";
  EXPECT_EQ(map_ranks(t, 2, PciKind::fpga).size(), 2u);

  // A scrambled device list comes back in an order whose ring crosses sockets only twice.
  std::vector<int> scrambled = {by_name(t, "cuda2"), by_name(t, "cuda0"), by_name(t, "cuda3"), by_name(t, "cuda1")};
  const std::vector<int> ring = ring_order(t, scrambled);
  int crossings = 0;
  for (size_t i = 0; i < ring.size(); ++i)
    crossings += t.distance(ring[i], ring[(i + 1) % ring.size()]) == Distance::cross_socket;
  EXPECT_EQ(crossings, 2);
  int scrambled_crossings = 0;
  for (size_t i = 0; i < scrambled.size(); ++i)
    scrambled_crossings += t.distance(scrambled[i], scrambled[(i + 1) % scrambled.size()]) == Distance::cross_socket;
  EXPECT_GT(scrambled_crossings, crossings) << "the test's scrambled order should be worse";
}

// More ranks than GPUs: rank order wraps around the sockets (4 crossings for 8 ranks on 4 GPUs
// in 2 sockets); the ring positions put ranks sharing a GPU, then a socket, next to each other.
TEST(Topology, RingPositionsKeepNeighboursClose) {
  if (!topology_built()) GTEST_SKIP() << "built without hwloc";
  const Topology t = Topology::from_xml(TANDEM_SOURCE_DIR "/tests/data/topo-2s.xml");
  const std::vector<int> map = map_ranks(t, 8, PciKind::gpu);
  const std::vector<int> pos = ring_positions(t, map);
  std::vector<int> ring(map.size());  // ring[p] = the device of the rank at position p
  for (size_t r = 0; r < map.size(); ++r) ring[static_cast<size_t>(pos[r])] = map[r];
  const auto crossings = [&](const std::vector<int>& order) {
    int n = 0;
    for (size_t i = 0; i < order.size(); ++i)
      n += t.distance(order[i], order[(i + 1) % order.size()]) == Distance::cross_socket;
    return n;
  };
  EXPECT_EQ(crossings(map), 4);
  EXPECT_EQ(crossings(ring), 2);
  std::vector<int> sorted = pos;
  std::sort(sorted.begin(), sorted.end());
  for (int p = 0; p < 8; ++p) EXPECT_EQ(sorted[static_cast<size_t>(p)], p) << "positions are a permutation";
  EXPECT_EQ(pos[0], 0);
  EXPECT_EQ(pos[4], 1) << "rank 4 shares rank 0's GPU";
  const std::vector<int> four = ring_positions(t, map_ranks(t, 4, PciKind::gpu));
  EXPECT_EQ(four, (std::vector<int>{0, 1, 2, 3})) << "one rank per GPU: map_ranks' order is already the ring";
}

TEST(Topology, ThisMachineAndBadFiles) {
  if (!topology_built()) GTEST_SKIP() << "built without hwloc";
  const Topology here = Topology::local();
  EXPECT_GE(here.packages, 1);
  EXPECT_GE(here.pus, 1);
  EXPECT_FALSE(here.numa.empty());
  test::expect_error([] { Topology::from_xml("/nonexistent/topo.xml"); }, ErrorKind::io, {"/nonexistent/topo.xml"});
  test::expect_error([] { Topology::from_xml(TANDEM_SOURCE_DIR "/README.md"); }, ErrorKind::io, {"README.md"});
}

}  // namespace
}  // namespace tandem::topo
