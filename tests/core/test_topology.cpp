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
