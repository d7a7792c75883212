// Topology through hwloc 2: discovery of this machine or an XML file, I/O objects kept.
#include "tandem/topology.h"

#include <hwloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <tuple>

#include "tandem/error.h"

namespace tandem::topo {
namespace {

struct Handle {
  hwloc_topology_t t = nullptr;
  ~Handle() {
    if (t) hwloc_topology_destroy(t);
  }
};

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw Error(ErrorKind::io, "", "topology " + source, what);
}

// With io, everything but the I/O tree's uninteresting parts: keep PCI devices, bridges and OS
// devices. Without, no I/O objects at all (hwloc then runs no I/O discovery).
void load(Handle& h, const std::string* xml, bool io = true) {
  if (hwloc_topology_init(&h.t) != 0) fail(xml ? *xml : "this machine", "hwloc_topology_init failed");
  hwloc_topology_set_io_types_filter(h.t, io ? HWLOC_TYPE_FILTER_KEEP_ALL : HWLOC_TYPE_FILTER_KEEP_NONE);
  if (xml && hwloc_topology_set_xml(h.t, xml->c_str()) != 0) fail(*xml, "not a readable hwloc XML file");
  if (hwloc_topology_load(h.t) != 0) fail(xml ? *xml : "this machine", "hwloc could not load the topology");
}

PciKind kind_of(const hwloc_obj_t o) {
  const unsigned cls = o->attr->pcidev.class_id >> 8;
  if (o->attr->pcidev.vendor_id == 0x10de && cls == 0x03) return PciKind::gpu;
  if (o->attr->pcidev.vendor_id == 0x10ee) return PciKind::fpga;
  if (cls == 0x02) return PciKind::nic;
  return PciKind::other;
}

bool host_bridge(hwloc_obj_t o) {
  return o->type == HWLOC_OBJ_BRIDGE && o->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_HOST;
}

Topology build(hwloc_topology_t t, const std::string& source) {
  Topology out;
  out.source = source;
  out.packages = std::max(1, hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE));
  out.cores = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
  out.pus = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
  for (hwloc_obj_t n = nullptr; (n = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, n)) != nullptr;) {
    NumaNode node;
    node.index = static_cast<int>(n->os_index);
    if (hwloc_obj_t p = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, n))
      node.package = static_cast<int>(p->logical_index);
    node.cores = hwloc_get_nbobjs_inside_cpuset_by_type(t, n->cpuset, HWLOC_OBJ_CORE);
    node.memory = n->attr->numanode.local_memory;
    char* list = nullptr;
    hwloc_bitmap_list_asprintf(&list, n->cpuset);
    node.cpuset = list ? list : "";
    std::free(list);
    out.numa.push_back(node);
  }
  // Bridges get dense indices in discovery order: host bridges (PCIe roots) and switches.
  std::map<hwloc_obj_t, int> hosts, switches;
  for (hwloc_obj_t b = nullptr; (b = hwloc_get_next_bridge(t, b)) != nullptr;) {
    if (host_bridge(b)) {
      hosts.emplace(b, static_cast<int>(hosts.size()));
    } else {
      switches.emplace(b, static_cast<int>(switches.size()));
    }
  }
  for (hwloc_obj_t o = nullptr; (o = hwloc_get_next_pcidev(t, o)) != nullptr;) {
    const PciKind kind = kind_of(o);
    if (kind == PciKind::other) continue;
    PciDevice d;
    d.kind = kind;
    d.vendor = o->attr->pcidev.vendor_id;
    d.device = o->attr->pcidev.device_id;
    char bus[32];
    std::snprintf(bus, sizeof bus, "%04x:%02x:%02x.%01x", o->attr->pcidev.domain, o->attr->pcidev.bus,
                  o->attr->pcidev.dev, o->attr->pcidev.func);
    d.bus_id = bus;
    d.link_bandwidth = o->attr->pcidev.linkspeed * 1e9;  // hwloc: GB/s, 0 when unknown
    for (hwloc_obj_t c = o->io_first_child; c != nullptr; c = c->next_sibling)
      if (c->type == HWLOC_OBJ_OS_DEVICE && c->name) {
        d.name = c->name;
        break;
      }
    if (o->parent && o->parent->type == HWLOC_OBJ_BRIDGE && !host_bridge(o->parent))
      d.pcie_switch = switches[o->parent];
    for (hwloc_obj_t p = o->parent; p != nullptr; p = p->parent)
      if (host_bridge(p)) {
        d.host_bridge = hosts[p];
        break;
      }
    const hwloc_obj_t local = hwloc_get_non_io_ancestor_obj(t, o);
    if (hwloc_obj_t p = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, local)) {
      d.package = static_cast<int>(p->logical_index);
    } else if (local->type == HWLOC_OBJ_PACKAGE) {
      d.package = static_cast<int>(local->logical_index);
    }
    if (d.package < 0 && out.packages == 1) d.package = 0;  // hangs off the machine: there is one package
    if (local->nodeset && !hwloc_bitmap_iszero(local->nodeset)) d.numa = hwloc_bitmap_first(local->nodeset);
    out.devices.push_back(d);
  }
  return out;
}

}  // namespace

bool topology_built() { return true; }

Topology Topology::local() {
  Handle h;
  load(h, nullptr);
  return build(h.t, "this machine");
}

Topology Topology::local_cpus() {
  Handle h;
  load(h, nullptr, false);
  return build(h.t, "this machine");
}

Topology Topology::from_xml(const std::string& path) {
  Handle h;
  load(h, &path);
  return build(h.t, path);
}

bool bind_to_numa(const Topology& t, int numa) {
  const auto it = std::find_if(t.numa.begin(), t.numa.end(), [&](const NumaNode& n) { return n.index == numa; });
  if (it == t.numa.end()) return false;
  Handle h;
  load(h, nullptr);
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  hwloc_bitmap_list_sscanf(set, it->cpuset.c_str());
  const bool ok = hwloc_set_cpubind(h.t, set, HWLOC_CPUBIND_PROCESS) == 0;
  hwloc_bitmap_free(set);
  return ok;
}

}  // namespace tandem::topo
