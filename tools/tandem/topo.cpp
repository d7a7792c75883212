// tandem topo: the machine (or an hwloc XML file) as the runtime sees it — packages, NUMA
// nodes, accelerators and NICs with their PCIe placement — and the rank → device mapping, the
// NUMA binding and the ring order a multi-rank job would use. Text, --json, --svg.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "options.h"
#include "table.h"
#include "tandem/error.h"
#include "tandem/file.h"
#include "tandem/topology.h"

namespace tandem::cli {
namespace {

using topo::PciKind;
using topo::Topology;

struct TopoOptions {
  std::string xml, kind = "gpu", json_path, svg_path;
  int ranks = 0;
};

PciKind parse_kind(const std::string& k) {
  if (k == "gpu") return PciKind::gpu;
  if (k == "fpga") return PciKind::fpga;
  if (k == "nic") return PciKind::nic;
  throw Error(ErrorKind::invalid_argument, "", "topo", "--kind " + k + ": expected gpu, fpga or nic");
}

std::string label(const Topology& t, int i) {
  const topo::PciDevice& d = t.devices[static_cast<size_t>(i)];
  return std::string(topo::pci_kind_name(d.kind)) + " " + d.bus_id + (d.name.empty() ? "" : " (" + d.name + ")");
}

nlohmann::json to_json(const Topology& t, const std::vector<int>& map, const std::vector<int>& ring) {
  using nlohmann::json;
  json j{{"source", t.source}, {"packages", t.packages}, {"cores", t.cores}, {"pus", t.pus}};
  for (const auto& n : t.numa)
    j["numa"].push_back(
        {{"index", n.index}, {"package", n.package}, {"cores", n.cores}, {"memory", n.memory}, {"cpuset", n.cpuset}});
  for (const auto& d : t.devices)
    j["devices"].push_back({{"kind", topo::pci_kind_name(d.kind)},
                            {"bus_id", d.bus_id},
                            {"vendor", d.vendor},
                            {"device", d.device},
                            {"name", d.name},
                            {"numa", d.numa},
                            {"package", d.package},
                            {"host_bridge", d.host_bridge},
                            {"pcie_switch", d.pcie_switch}});
  j["mapping"] = json::array();
  const std::vector<int> pos = topo::ring_positions(t, map);
  for (size_t r = 0; r < map.size(); ++r)
    j["mapping"].push_back({{"rank", r},
                            {"device", t.devices[static_cast<size_t>(map[r])].bus_id},
                            {"numa", topo::numa_for(t, map[r])},
                            {"ring_position", pos[r]}});
  j["ring"] = json::array();
  for (size_t i = 0; i < ring.size(); ++i)
    j["ring"].push_back({{"device", t.devices[static_cast<size_t>(ring[i])].bus_id},
                         {"to_next", topo::distance_name(t.distance(ring[i], ring[(i + 1) % ring.size()]))}});
  return j;
}

// One column per package: its NUMA nodes, then its devices grouped under host bridges and
// switches; ranks are written on the devices they drive.
std::string to_svg(const Topology& t, const std::vector<int>& map) {
  const int col = 300, pad = 20, row = 28;
  std::vector<std::vector<int>> per_package(static_cast<size_t>(std::max(1, t.packages)));
  for (int i : topo::ring_order(t, [&] {
         std::vector<int> all(t.devices.size());
         for (size_t k = 0; k < all.size(); ++k) all[k] = static_cast<int>(k);
         return all;
       }()))
    per_package[static_cast<size_t>(std::max(0, t.devices[static_cast<size_t>(i)].package))].push_back(i);
  size_t tallest = 0;
  for (const auto& p : per_package) tallest = std::max(tallest, p.size());
  const int height = pad * 3 + row * (3 + static_cast<int>(tallest));
  const int width = pad + static_cast<int>(per_package.size()) * (col + pad);
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
                  std::to_string(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  const char* fill[] = {"#9ccc65", "#ffb74d", "#64b5f6", "#e0e0e0"};
  for (size_t p = 0; p < per_package.size(); ++p) {
    const int x = pad + static_cast<int>(p) * (col + pad);
    s += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(pad) + "\" width=\"" + std::to_string(col) +
         "\" height=\"" + std::to_string(height - 2 * pad) + "\" fill=\"none\" stroke=\"#333\"/>\n";
    std::string numa;
    for (const auto& n : t.numa)
      if (n.package == static_cast<int>(p) || (t.packages <= 1 && n.package < 0))
        numa += "NUMA " + std::to_string(n.index) + " (cores " + n.cpuset + ") ";
    s += "<text x=\"" + std::to_string(x + 8) + "\" y=\"" + std::to_string(pad + 18) +
         "\" font-weight=\"bold\">Package " + std::to_string(p) + "</text>\n<text x=\"" + std::to_string(x + 8) +
         "\" y=\"" + std::to_string(pad + 36) + "\">" + numa + "</text>\n";
    int y = pad + 2 * row + 8;
    for (int i : per_package[p]) {
      const topo::PciDevice& d = t.devices[static_cast<size_t>(i)];
      std::string ranks;
      for (size_t r = 0; r < map.size(); ++r)
        if (map[r] == i) ranks += (ranks.empty() ? " ← rank " : ", ") + std::to_string(r);
      const int indent = d.pcie_switch >= 0 ? 24 : 8;
      s += "<rect x=\"" + std::to_string(x + indent) + "\" y=\"" + std::to_string(y) + "\" width=\"" +
           std::to_string(col - indent - 8) + "\" height=\"" + std::to_string(row - 6) + "\" fill=\"" +
           fill[static_cast<int>(d.kind)] + "\" stroke=\"#555\"/>\n<text x=\"" + std::to_string(x + indent + 6) +
           "\" y=\"" + std::to_string(y + 16) + "\">" + label(t, i) +
           (d.pcie_switch >= 0 ? " [switch " + std::to_string(d.pcie_switch) + "]" : "") + ranks + "</text>\n";
      y += row;
    }
  }
  return s + "</svg>\n";
}

void run(const TopoOptions& o) {
  const Topology t = o.xml.empty() ? Topology::local() : Topology::from_xml(o.xml);
  const PciKind kind = parse_kind(o.kind);
  const std::vector<int> devices = t.of_kind(kind);
  const int ranks = o.ranks > 0 ? o.ranks : static_cast<int>(devices.size());
  const std::vector<int> map = topo::map_ranks(t, ranks, kind);
  const std::vector<int> ring = topo::ring_order(t, devices);
  if (!o.json_path.empty()) {
    const std::string text = to_json(t, map, ring).dump(2) + "\n";
    if (o.json_path == "-") {
      std::fputs(text.c_str(), stdout);
      return;
    }
    write_file_atomic(o.json_path, text);
  }
  if (!o.svg_path.empty()) write_file_atomic(o.svg_path, to_svg(t, map));
  std::printf("%s: %d package(s), %zu NUMA node(s), %d cores, %d PUs\n", t.source.c_str(), t.packages, t.numa.size(),
              t.cores, t.pus);
  for (const auto& n : t.numa)
    std::printf("  NUMA %d: package %d, %d cores (%s), %.1f GiB\n", n.index, n.package, n.cores, n.cpuset.c_str(),
                static_cast<double>(n.memory) / (1 << 30));
  Table dev({"device", "package", "NUMA", "host bridge", "PCIe switch"});
  for (size_t i = 0; i < t.devices.size(); ++i) {
    const auto& d = t.devices[i];
    dev.add({label(t, static_cast<int>(i)), std::to_string(d.package), std::to_string(d.numa),
             std::to_string(d.host_bridge), d.pcie_switch >= 0 ? std::to_string(d.pcie_switch) : "-"});
  }
  std::printf("\n");
  dev.print();
  std::printf("\n");
  if (map.empty()) {
    std::printf("no %s on this machine: ranks run on the CPU, each bound to NUMA node %d\n", o.kind.c_str(),
                topo::numa_for(t, -1));
  } else {
    // Rows in ring order: the order a training job's communicator takes (its ranks renumbered).
    const std::vector<int> pos = topo::ring_positions(t, map);
    std::vector<size_t> ring(map.size());
    for (size_t r = 0; r < map.size(); ++r) ring[static_cast<size_t>(pos[r])] = r;
    Table m({"ring position", "rank", "device", "bind to NUMA", "distance to next in ring"});
    for (size_t p = 0; p < ring.size(); ++p) {
      const int here = map[ring[p]], next = map[ring[(p + 1) % ring.size()]];
      m.add({std::to_string(p), std::to_string(ring[p]), label(t, here), std::to_string(topo::numa_for(t, here)),
             map.size() > 1 ? std::string(topo::distance_name(t.distance(here, next))) : "-"});
    }
    m.print();
  }
  if (!o.svg_path.empty()) std::printf("\nwrote %s\n", o.svg_path.c_str());
  if (!o.json_path.empty()) std::printf("wrote %s\n", o.json_path.c_str());
}

}  // namespace

void add_topo_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("topo", "Show the machine's topology (hwloc) and the rank → device mapping");
  auto o = std::make_shared<TopoOptions>();
  cmd->add_option("--xml", o->xml, "read an hwloc XML topology (lstopo --of xml) instead of this machine")
      ->check(input_file());
  cmd->add_option("--ranks", o->ranks, "ranks to place (default: one per device of --kind)")
      ->check(whole(0, 65536));
  cmd->add_option("--kind", o->kind, "devices ranks drive: gpu, fpga or nic")
      ->capture_default_str()
      ->check(CLI::IsMember({"gpu", "fpga", "nic"}));
  cmd->add_option("--json", o->json_path, "write the topology and decisions as JSON (- for stdout)")
      ->check(output_file(true));
  cmd->add_option("--svg", o->svg_path, "draw the topology and the mapping as SVG")->check(output_file());
  cmd->callback([o] { run(*o); });
}

}  // namespace tandem::cli
