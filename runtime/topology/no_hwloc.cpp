// Built without hwloc: the calls exist and say why they cannot work.
#include "tandem/error.h"
#include "tandem/topology.h"

namespace tandem::topo {
namespace {
[[noreturn]] void missing() {
  throw Error(ErrorKind::unsupported, "", "topology", "this build has no hwloc (install libhwloc-dev)");
}
}  // namespace

bool topology_built() { return false; }
Topology Topology::local() { missing(); }
Topology Topology::local_cpus() { missing(); }
Topology Topology::from_xml(const std::string&) { missing(); }
bool bind_to_numa(const Topology&, int) { return false; }

}  // namespace tandem::topo
