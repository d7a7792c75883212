// Fault injection: makes chosen device allocations, kernel launches, copies, collectives and
// file writes fail, so tests (and users chasing a problem) can show that every such failure
// ends as a clear error or a reported fallback, with nothing leaked, hung or corrupted.
//
// Off unless armed by the environment variable TANDEM_FAULTS (read once, at start-up) or by
// arm(). A disarmed point costs one relaxed atomic load. The spec is a comma-separated list:
//   SITE[@TARGET]=N[+]   the N-th matching event at SITE fails (with '+': it and every later one)
//   rank=R               only in the process that the launcher (mpirun) numbered R
// SITE is alloc, launch, copy, collective or write. TARGET, when given, must equal the event's
// device ("cuda:0", "rank 1"), its operation ("conv2d_forward", "allreduce f32[10]") or, for
// writes, the file's name ("checkpoint.tdm"); a trailing '*' matches any continuation.
//   TANDEM_FAULTS="launch=5"                        the fifth kernel launch anywhere
//   TANDEM_FAULTS="alloc@fpga-sim:0=1+"             every allocation on fpga-sim:0
//   TANDEM_FAULTS="rank=1,collective@allreduce*=3"  rank 1's third allreduce
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

namespace tandem::faults {

enum class Site : uint8_t { alloc, launch, copy, collective, write };

/// "alloc", "launch", "copy", "collective", "write".
std::string_view site_name(Site s);

/// Replaces the rules (and their counts) with spec's. Error(invalid_argument) naming the bad
/// part; the previous rules stay then.
void arm(std::string_view spec);
/// No faults from now on.
void disarm();
/// Faults injected since the process started.
uint64_t injected();

/// Arms a spec for a scope (tests), disarming after.
class Scoped {
 public:
  explicit Scoped(std::string_view spec) { arm(spec); }
  ~Scoped() { disarm(); }
  Scoped(const Scoped&) = delete;
  Scoped& operator=(const Scoped&) = delete;
};

namespace detail {
extern std::atomic<bool> armed;
void hit(Site site, std::string_view device, std::string_view what);
}  // namespace detail

/// An event that may be made to fail: throws the Error the real failure would give (out of
/// memory for alloc, a device error for launch and copy, a communication error for collective,
/// an i/o error for write), its message saying that it was injected.
inline void point(Site site, std::string_view device, std::string_view what) {
  if (detail::armed.load(std::memory_order_relaxed)) [[unlikely]]
    detail::hit(site, device, what);
}

}  // namespace tandem::faults
