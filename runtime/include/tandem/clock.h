// The one monotonic clock the runtime and its tools time things with, and the one rule for
// timing work on a device.
#pragma once

#include <chrono>
#include <utility>

#include "tandem/device.h"

namespace tandem {

/// Seconds on the steady clock (monotonic; only differences mean anything).
inline double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Time a device has spent since construction (or restart()): its performance model's for a
/// modeled device (props().modeled), the wall clock's otherwise. Synchronizing the device's
/// streams before and after the work is the caller's part.
class DeviceTimer {
 public:
  explicit DeviceTimer(Device d) : device_(std::move(d)) { restart(); }
  void restart() {
    modeled0_ = device_.modeled_seconds();
    wall0_ = monotonic_seconds();
  }
  double seconds() const {
    return device_.props().modeled ? device_.modeled_seconds() - modeled0_ : monotonic_seconds() - wall0_;
  }

 private:
  Device device_;
  double modeled0_ = 0, wall0_ = 0;
};

}  // namespace tandem
