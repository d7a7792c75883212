// Loop-trip counters for C simulation: the performance model predicts how many iterations each
// pipelined loop runs; tests compare the prediction with these counts. One counter per named
// loop, looked up once per call site; nothing at all in synthesis.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#ifdef __SYNTHESIS__
#define TANDEM_TRIP(name)
#else
namespace tandem_hls {
/// The counter of a loop (created at zero on first use). Not thread-safe: C simulation runs the
/// cores one call at a time.
uint64_t& trip_counter(const char* name);
/// Every counter so far.
std::map<std::string, uint64_t> trip_counts();
void reset_trips();
}  // namespace tandem_hls
#define TANDEM_TRIP(name)                                             \
  do {                                                                \
    static uint64_t& tandem_trip_ = ::tandem_hls::trip_counter(name); \
    ++tandem_trip_;                                                   \
  } while (0)
#endif
