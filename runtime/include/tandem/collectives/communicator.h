// Collective communication between ranks, shaped like NCCL's API so that MPI (between
// processes) and NCCL (between GPUs, with the CUDA backend) implement one interface: operations
// on device tensors, ordered after the work already submitted to a stream, returned as
// requests that complete asynchronously and are progressed by test() or finished by wait().
//
// Every rank must issue the same collectives in the same order with matching shapes, as in MPI
// and NCCL. A request that does not complete within the communicator's timeout fails with
// Error(timeout) naming the operation, the rank and (over MPI) the ranks that never arrived, so
// a lost peer never hangs the job.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tandem/stream.h"
#include "tandem/tensor.h"

namespace tandem::collectives {

enum class ReduceOp { sum, max, min };

/// A collective in flight.
class Request {
 public:
  /// What a backend supplies: progress without blocking (true when complete), and the work to
  /// do once complete (copying a staged result back to the device).
  struct Impl {
    virtual ~Impl() = default;
    virtual bool test() = 0;
    virtual void finish() {}
    /// Why the operation has not completed, for a timeout's message: a backend may know which
    /// peers never arrived.
    virtual std::string stall_reason() { return unknown_stall; }
    static constexpr const char* unknown_stall = "a peer rank has died or stopped participating";
  };

  Request() = default;
  Request(std::unique_ptr<Impl> impl, std::string what, int rank, std::chrono::milliseconds timeout);
  Request(Request&&) noexcept;
  Request& operator=(Request&&) noexcept;
  /// A request still in flight is waited for (errors are logged, not thrown).
  ~Request();

  /// Progresses the operation; true once it has completed (and finished).
  bool test();
  /// Blocks until complete; Error(timeout) after the communicator's timeout.
  void wait();

 private:
  std::unique_ptr<Impl> impl_;
  std::string what_;
  int rank_ = 0;
  std::chrono::milliseconds timeout_{0};
  void complete();
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// "mpi", "nccl".
  virtual std::string name() const = 0;
  std::chrono::milliseconds timeout() const { return timeout_; }
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }

  /// recv = op over all ranks of send, element-wise; recv may be send. f32, i32, and f16/bf16
  /// (each reduction step in f32, rounded once).
  virtual Request iallreduce(Stream& s, const Tensor& send, const Tensor& recv, ReduceOp op = ReduceOp::sum) = 0;
  /// recv (n / size elements) = this rank's block of the reduction of send (n elements).
  virtual Request ireduce_scatter(Stream& s, const Tensor& send, const Tensor& recv, ReduceOp op = ReduceOp::sum) = 0;
  /// recv (size · n elements) = every rank's send (n elements), in rank order.
  virtual Request iallgather(Stream& s, const Tensor& send, const Tensor& recv) = 0;
  /// recv = every rank's send, concatenated in rank order; rank r sends counts[r] elements.
  virtual Request iallgatherv(Stream& s, const Tensor& send, const Tensor& recv, std::span<const int64_t> counts) = 0;
  /// buf on every rank = buf on root.
  virtual Request ibroadcast(Stream& s, const Tensor& buf, int root) = 0;
  /// Every rank's value, in rank order (small and blocking: sizes for allgatherv).
  virtual std::vector<int64_t> allgather_value(int64_t mine) = 0;
  virtual void barrier() = 0;
  /// A new communicator over the ranks that pass the same color, ranked by key (ties by this
  /// rank): a separate matching context, so its collectives never match this one's — each
  /// gradient bucket gets one, and a ring order becomes rank order. Collective.
  virtual std::shared_ptr<Communicator> split(int color, int key) = 0;
  std::shared_ptr<Communicator> dup() { return split(0, rank()); }
  /// Ends every rank of the job (after this rank has reported its error): peers blocked in a
  /// collective with this rank must not wait for their timeout.
  [[noreturn]] virtual void abort(int code) = 0;

  /// Blocking forms. A backend may run them through its blocking primitives (faster than
  /// polling a request: MPI's blocking collectives use its tuned algorithms); a call that
  /// outlives the timeout then ends the job with an error naming the operation and the rank,
  /// as no exception can interrupt a blocked call. Blocking and non-blocking collectives do
  /// not match each other across ranks (as in MPI): all ranks use the same form.
  virtual void allreduce(Stream& s, const Tensor& send, const Tensor& recv, ReduceOp op = ReduceOp::sum) {
    iallreduce(s, send, recv, op).wait();
  }
  virtual void reduce_scatter(Stream& s, const Tensor& send, const Tensor& recv, ReduceOp op = ReduceOp::sum) {
    ireduce_scatter(s, send, recv, op).wait();
  }
  virtual void allgather(Stream& s, const Tensor& send, const Tensor& recv) { iallgather(s, send, recv).wait(); }
  virtual void allgatherv(Stream& s, const Tensor& send, const Tensor& recv, std::span<const int64_t> counts) {
    iallgatherv(s, send, recv, counts).wait();
  }
  virtual void broadcast(Stream& s, const Tensor& buf, int root) { ibroadcast(s, buf, root).wait(); }

 protected:
  std::chrono::milliseconds timeout_{std::chrono::seconds(60)};
};

/// A communicator of one rank: its collectives copy (or do nothing in place).
std::shared_ptr<Communicator> self_communicator();

/// True when the process was started by a launcher (mpirun) with more than one rank.
bool launched_with_ranks();
/// MPI_COMM_WORLD (MPI is initialized on first use and finalized at exit). Throws
/// Error(unsupported) when the build has no MPI.
std::shared_ptr<Communicator> mpi_world();

}  // namespace tandem::collectives
