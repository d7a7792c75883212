#include "tandem_hls/trips.h"

namespace tandem_hls {
namespace {
std::map<std::string, uint64_t>& counters() {
  static std::map<std::string, uint64_t> c;  // node-based: references stay valid as it grows
  return c;
}
}  // namespace

uint64_t& trip_counter(const char* name) { return counters()[name]; }
std::map<std::string, uint64_t> trip_counts() { return counters(); }
void reset_trips() {
  for (auto& [name, count] : counters()) count = 0;  // keep the nodes: call sites hold references
}

}  // namespace tandem_hls
