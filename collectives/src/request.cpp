#include <mutex>
#include <thread>
#include <vector>

#include "tandem/collectives/communicator.h"
#include "tandem/error.h"
#include "tandem/log.h"

namespace tandem::collectives {
namespace {

// Operations a timed-out wait() gave up on. The backend may still write into their buffers, so
// they are never freed nor touched again; they are kept here (not leaked: still referenced)
// until the process ends, which a dead peer usually means soon.
void abandon(std::unique_ptr<Request::Impl> impl) {
  static std::mutex mutex;
  static auto* abandoned = new std::vector<std::unique_ptr<Request::Impl>>;  // never destroyed, see above
  std::lock_guard lock(mutex);
  abandoned->push_back(std::move(impl));
}

}  // namespace

Request::Request(std::unique_ptr<Impl> impl, std::string what, int rank, std::chrono::milliseconds timeout)
    : impl_(std::move(impl)), what_(std::move(what)), rank_(rank), timeout_(timeout) {}

Request::Request(Request&&) noexcept = default;
Request& Request::operator=(Request&& other) noexcept {
  if (this != &other) {
    if (impl_) {
      try {
        wait();
      } catch (const Error& e) {
        TANDEM_LOG(error, e.what());
      }
    }
    impl_ = std::move(other.impl_);
    what_ = std::move(other.what_);
    rank_ = other.rank_;
    timeout_ = other.timeout_;
  }
  return *this;
}

Request::~Request() {
  if (!impl_) return;
  try {
    wait();
  } catch (const Error& e) {
    TANDEM_LOG(error, e.what());
  }
}

void Request::complete() {
  std::unique_ptr<Impl> impl = std::move(impl_);
  impl->finish();
}

bool Request::test() {
  if (!impl_) return true;
  if (!impl_->test()) return false;
  complete();
  return true;
}

void Request::wait() {
  if (!impl_) return;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto last = start;
  Clock::duration paused{0};
  // Keep polling: MPI progresses a non-blocking collective only inside its calls, so sleeping
  // between polls would slow the transfer itself. Yield the core to peers on the same machine.
  for (long polls = 0; !impl_->test(); ++polls) {
    if (polls > 100) std::this_thread::yield();
    if ((polls & 63) != 0) continue;
    // Over a second between two looks: this process did not run (stopped, or starved), which
    // is no time spent waiting for the peers; a rank resumed after SIGSTOP must not blame them.
    const auto now = Clock::now();
    if (now - last > std::chrono::seconds(1)) paused += now - last;
    last = now;
    if (now - start - paused > timeout_) {
      const std::string why = impl_->stall_reason();
      abandon(std::move(impl_));  // the backend's operation may still be posted
      throw Error(ErrorKind::timeout, "rank " + std::to_string(rank_), what_,
                  "not complete after " + std::to_string(timeout_.count() / 1000.0).substr(0, 5) + " s: " + why);
    }
  }
  complete();
}

}  // namespace tandem::collectives
