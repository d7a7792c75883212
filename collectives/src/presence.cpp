#include "presence.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include "tandem/log.h"

namespace tandem::collectives {
namespace {

constexpr int notice_tag = 0;  // one tag: the k-th receive from a peer matches its k-th notice

bool mpi_finalized() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  return finalized != 0;
}

}  // namespace

void Arrivals::poll() {
  if (mpi_finalized()) return;
  const size_t peers = heard.size() - 1;
  for (size_t i = 0; i < peers; ++i) {
    if (requests[i] == MPI_REQUEST_NULL) continue;
    int done = 0;
    MPI_Test(&requests[i], &done, MPI_STATUS_IGNORE);  // a failed receive leaves its rank unheard
  }
}

std::string Arrivals::describe() const {
  std::vector<int> missing;
  for (size_t p = 0; p < heard.size(); ++p) {
    // MPI may write a buffer while the watchdog thread reads it.
    const int64_t notice = std::atomic_ref(const_cast<int64_t&>(heard[p])).load(std::memory_order_relaxed);
    if (static_cast<int>(p) != rank && notice < 0) missing.push_back(static_cast<int>(p));
  }
  const auto name = [&](int p) {
    std::string n = std::to_string(p);
    if (!world_ranks->empty()) n += " (world rank " + std::to_string((*world_ranks)[static_cast<size_t>(p)]) + ")";
    return n;
  };
  if (missing.empty()) {
    // With two ranks, this one (alive: it reports) has one suspect; with more, a rank stopped
    // after sending its notice looks like one still waiting.
    if (heard.size() == 2)
      return "rank " + name(1 - rank) +
             " arrived but has not completed it (it has died or stopped inside the collective, or MPI is stuck)";
    return "every rank arrived, yet it has not completed (a rank has died or stopped inside the collective, or MPI "
           "is stuck)";
  }
  std::string names;
  for (const int p : missing) names += (names.empty() ? "" : ", ") + name(p);
  const bool one = missing.size() == 1;
  return (one ? "rank " : "ranks ") + names + " never arrived (" + (one ? "it has" : "they have") + " died or stopped)";
}

Presence::Presence(MPI_Comm channel, std::shared_ptr<const std::vector<int>> world_ranks)
    : channel_(channel), world_ranks_(std::move(world_ranks)) {
  MPI_Comm_rank(channel_, &rank_);
  MPI_Comm_size(channel_, &size_);
  MPI_Comm_set_errhandler(channel_, MPI_ERRORS_RETURN);
  next_ = open(1);
}

Presence::~Presence() {
  if (mpi_finalized()) return;  // too late for any MPI call; nothing can be pending for MPI then
  const size_t peers = static_cast<size_t>(size_ - 1);
  // Notices still in flight (a broadcast's root can finish before its peers' notices arrive)
  // get a moment to land: one arriving after the channel is freed would wait in MPI for a
  // communicator of the same id. Rounds a timed-out request still holds are not waited for:
  // their peer is known to be missing.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
  for (const auto& a : pending_) {
    if (a.use_count() > 1) continue;
    int done = 0;
    while (MPI_Testall(static_cast<int>(peers), a->requests.data(), &done, MPI_STATUSES_IGNORE) == MPI_SUCCESS &&
           !done && std::chrono::steady_clock::now() < until) {
    }
  }
  pending_.push_back(std::move(next_));  // receives for a collective that never comes
  for (const auto& a : pending_) {
    if (!a) continue;
    for (size_t i = 0; i < a->requests.size(); ++i) {
      MPI_Request& r = a->requests[i];
      if (r == MPI_REQUEST_NULL) continue;
      if (i < peers) {  // a receive: a peer that never arrives would leave it posted forever
        MPI_Cancel(&r);
        MPI_Wait(&r, MPI_STATUS_IGNORE);
      } else {  // a send: cancelling sends is deprecated; an eager send completes without the peer
        MPI_Request_free(&r);
      }
    }
  }
  MPI_Comm_free(&channel_);
}

void Presence::fail(const char* call, int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  TANDEM_LOG(warn, "rank " << rank_ << " presence channel: " << call << ": " << std::string(text, static_cast<size_t>(len))
                           << " (timeouts will not name the ranks that never arrived)");
  failed_ = true;
}

// Frees the rounds whose receives and sends have all completed, oldest first; stops at the first
// still in flight (the newer ones complete after it in a job that keeps step), so a collective
// tests one round in the common case.
void Presence::reap() {
  while (!pending_.empty()) {
    Arrivals& a = *pending_.front();
    int done = 0;
    const int rc = MPI_Testall(static_cast<int>(a.requests.size()), a.requests.data(), &done, MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS) {
      fail("MPI_Testall", rc);
      return;
    }
    if (!done) return;
    std::shared_ptr<Arrivals> finished = std::move(pending_.front());
    pending_.pop_front();
    if (finished.use_count() == 1 && spare_.size() < 4) spare_.push_back(std::move(finished));
  }
}

// A round for collective `seq` with its receives posted. Posted a collective ahead, so that a
// peer's notice finds its receive waiting instead of MPI's queue of unexpected messages.
std::shared_ptr<Arrivals> Presence::open(int64_t seq) {
  std::shared_ptr<Arrivals> a;
  if (!spare_.empty()) {
    a = std::move(spare_.back());
    spare_.pop_back();
  } else {
    a = std::make_shared<Arrivals>();
    a->heard.resize(static_cast<size_t>(size_));
    a->requests.resize(2 * static_cast<size_t>(size_ - 1), MPI_REQUEST_NULL);
    a->rank = rank_;
    a->world_ranks = world_ranks_;
  }
  a->seq = a->sent = seq;
  std::fill(a->heard.begin(), a->heard.end(), int64_t{-1});
  a->heard[static_cast<size_t>(rank_)] = seq;
  for (int i = 0; i < size_ - 1; ++i) {
    const int p = (rank_ + 1 + i) % size_;
    const int rc = MPI_Irecv(&a->heard[static_cast<size_t>(p)], 1, MPI_INT64_T, p, notice_tag, channel_,
                             &a->requests[static_cast<size_t>(i)]);
    if (rc != MPI_SUCCESS) {
      fail("MPI_Irecv", rc);
      break;  // the receives posted are cancelled with the channel
    }
  }
  return a;
}

std::shared_ptr<Arrivals> Presence::enter() {
  if (failed_) return nullptr;
  reap();
  if (failed_) return nullptr;
  std::shared_ptr<Arrivals> a = std::move(next_);
  pending_.push_back(a);  // before posting: whatever gets posted is cleaned up with the channel
  seq_ = a->seq;
  const int peers = size_ - 1;
  for (int i = 0; i < peers; ++i) {
    const int p = (rank_ + 1 + i) % size_;
    const int rc =
        MPI_Isend(&a->sent, 1, MPI_INT64_T, p, notice_tag, channel_, &a->requests[static_cast<size_t>(peers + i)]);
    if (rc != MPI_SUCCESS) {
      fail("MPI_Isend", rc);
      return nullptr;
    }
  }
  next_ = open(seq_ + 1);
  return a;
}

}  // namespace tandem::collectives
