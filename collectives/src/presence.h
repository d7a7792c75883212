// Which ranks arrived at a collective: a communicator's presence channel (MPI_Comm_dup of it).
// On entering each collective a rank sends its sequence number to every peer and posts one
// receive per peer for theirs; when the collective times out, the receives that never
// completed name the ranks that never arrived.
//
// The receives are posted before the collective, so MPI fills them while this rank is blocked
// inside a blocking collective: the watchdog thread then reads the buffers without calling MPI
// (the library runs MPI_THREAD_FUNNELED: only the main thread may call it). Matching is by order:
// one tag, and MPI never lets a peer's messages overtake each other, so the k-th receive from a
// peer holds its k-th notice.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace tandem::collectives {

// One collective's notices.
struct Arrivals {
  int64_t seq = 0;
  int64_t sent = 0;                   // this rank's notice; MPI reads it until the sends complete
  std::vector<int64_t> heard;         // per rank: the notice received from it, -1 until it arrives
  std::vector<MPI_Request> requests;  // the receives, then the sends
  int rank = 0;
  std::shared_ptr<const std::vector<int>> world_ranks;  // per rank; empty when they equal the ranks

  /// Progresses the receives (MPI: the thread that calls MPI).
  void poll();
  /// "rank 1 never arrived (it has died or stopped)", "ranks 1, 3 never arrived (…)", or that
  /// every rank arrived (with two ranks: that the other arrived but has not completed it).
  /// Reads only `heard` (no MPI): the watchdog thread calls it.
  std::string describe() const;
};

class Presence {
 public:
  /// Above this many ranks there is no channel (and timeouts give the generic message): each
  /// collective would post 2·(ranks−1) messages per rank, O(ranks²) across the job, which
  /// outgrows a small collective's own traffic.
  static constexpr int max_ranks = 64;

  /// channel: a duplicate of the communicator, owned (freed) from here on.
  Presence(MPI_Comm channel, std::shared_ptr<const std::vector<int>> world_ranks);
  /// Cancels the receives still posted and frees the channel, so MPI_Finalize finds nothing
  /// pending; the sends (8 bytes, sent eagerly) complete on their own.
  ~Presence();
  Presence(const Presence&) = delete;
  Presence& operator=(const Presence&) = delete;

  /// Called on entering a collective: sends this rank's notice, posts the receives for the
  /// peers' notices of the next one (this one's were posted by the previous call), and frees
  /// the completed rounds of earlier collectives. Null once the channel failed.
  std::shared_ptr<Arrivals> enter();

 private:
  MPI_Comm channel_;
  int rank_ = 0, size_ = 1;
  int64_t seq_ = 0;
  bool failed_ = false;
  std::shared_ptr<const std::vector<int>> world_ranks_;
  std::shared_ptr<Arrivals> next_;                 // the next collective's: its receives posted
  std::deque<std::shared_ptr<Arrivals>> pending_;  // in order; requests still in flight
  std::vector<std::shared_ptr<Arrivals>> spare_;   // completed and referenced nowhere else: reused

  std::shared_ptr<Arrivals> open(int64_t seq);
  void reap();
  void fail(const char* call, int rc);
};

}  // namespace tandem::collectives
