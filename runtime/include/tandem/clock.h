// The one monotonic clock the runtime and its tools time things with.
#pragma once

#include <chrono>

namespace tandem {

/// Seconds on the steady clock (monotonic; only differences mean anything).
inline double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace tandem
