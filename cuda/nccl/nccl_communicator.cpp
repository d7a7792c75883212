// The Communicator interface over NCCL (see tandem/collectives/nccl.h). Collectives on GPU
// tensors are enqueued on the caller's CUDA stream, after the work already there; a request is
// an event recorded behind them, polled together with NCCL's asynchronous error. Collectives on
// host tensors (the trainer's losses and timings) go over the bootstrap communicator.
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "../interop.h"
#include "tandem/collectives/nccl.h"
#include "tandem/error.h"
#include "tandem/fault.h"
#include "tandem/log.h"

namespace tandem::collectives {
namespace {

using Clock = std::chrono::steady_clock;

ncclDataType_t nccl_type(DType t, const char* what) {
  switch (t) {
    case DType::f32:
      return ncclFloat32;
    case DType::f16:
      return ncclFloat16;
    case DType::bf16:
      return ncclBfloat16;
    case DType::i32:
      return ncclInt32;
    case DType::i8:
      return ncclInt8;
    case DType::u8:
      return ncclUint8;
  }
  throw Error(ErrorKind::unsupported, "", what, "dtype has no NCCL type");
}

ncclRedOp_t nccl_op(ReduceOp op) { return op == ReduceOp::sum ? ncclSum : op == ReduceOp::max ? ncclMax : ncclMin; }

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(std::shared_ptr<Communicator> bootstrap, const Device& gpu)
      : bootstrap_(std::move(bootstrap)), gpu_(gpu), ordinal_(cuda::ordinal_of(gpu)) {
    set_timeout(bootstrap_->timeout());
    // Rank 0's unique id reaches every rank through the bootstrap (host memory, 128 bytes).
    ncclUniqueId id{};
    if (bootstrap_->rank() == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    std::vector<int32_t> words(sizeof(id) / 4);
    std::memcpy(words.data(), &id, sizeof(id));
    Tensor t = Tensor::from_vector(cpu_device(), {static_cast<int64_t>(words.size())}, words);
    Stream host(cpu_device());
    bootstrap_->broadcast(host, t, 0);
    words = t.to_vector<int32_t>();
    std::memcpy(&id, words.data(), sizeof(id));
    cuda_check(cudaSetDevice(ordinal_), "cudaSetDevice");
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;  // so that a hung initialization can be aborted
    ncclResult_t rc = ncclCommInitRankConfig(&comm_, bootstrap_->size(), id, bootstrap_->rank(), &config);
    if (rc != ncclSuccess && rc != ncclInProgress) check(rc, "ncclCommInitRankConfig");
    wait_ready("ncclCommInitRankConfig");
  }

  ~NcclCommunicator() override {
    if (comm_ == nullptr || aborted_) return;  // an aborted communicator is already gone
    cudaSetDevice(ordinal_);
    try {  // flush what was issued, then free
      check(ncclCommFinalize(comm_), "ncclCommFinalize");
      wait_ready("ncclCommFinalize");
    } catch (const Error& e) {
      TANDEM_LOG(error, e.what());
    }
    ncclCommDestroy(comm_);
  }

  int rank() const override { return bootstrap_->rank(); }
  int size() const override { return bootstrap_->size(); }
  std::string name() const override { return "nccl"; }

  Request iallreduce(Stream& s, const Tensor& send, const Tensor& recv, ReduceOp op) override {
    if (on_host(send, recv)) return bootstrap_->iallreduce(s, send, recv, op);
    same_size(send, recv, "allreduce");
    return enqueue(s, "allreduce", [&](cudaStream_t cs) {
      return ncclAllReduce(send.data(), recv.data(), count(send), nccl_type(send.dtype(), "allreduce"), nccl_op(op),
                           comm_, cs);
    });
  }
  Request ireduce_scatter(Stream& s, const Tensor& send, const Tensor& recv, ReduceOp op) override {
    if (on_host(send, recv)) return bootstrap_->ireduce_scatter(s, send, recv, op);
    on_gpu(send, recv, "reduce_scatter");
    if (send.numel() != recv.numel() * size()) bad("reduce_scatter", "send must hold size × recv elements");
    return enqueue(s, "reduce_scatter", [&](cudaStream_t cs) {
      return ncclReduceScatter(send.data(), recv.data(), count(recv), nccl_type(send.dtype(), "reduce_scatter"),
                               nccl_op(op), comm_, cs);
    });
  }
  Request iallgather(Stream& s, const Tensor& send, const Tensor& recv) override {
    if (on_host(send, recv)) return bootstrap_->iallgather(s, send, recv);
    on_gpu(send, recv, "allgather");
    if (recv.numel() != send.numel() * size()) bad("allgather", "recv must hold size × send elements");
    return enqueue(s, "allgather", [&](cudaStream_t cs) {
      return ncclAllGather(send.data(), recv.data(), count(send), nccl_type(send.dtype(), "allgather"), comm_, cs);
    });
  }
  // NCCL has no allgatherv: one broadcast per rank into its slot, grouped into one launch.
  Request iallgatherv(Stream& s, const Tensor& send, const Tensor& recv, std::span<const int64_t> counts) override {
    if (on_host(send, recv)) return bootstrap_->iallgatherv(s, send, recv, counts);
    on_gpu(send, recv, "allgatherv");
    if (counts.size() != static_cast<size_t>(size()) || counts[static_cast<size_t>(rank())] != send.numel())
      bad("allgatherv", "counts must give every rank's elements (this rank's = send's)");
    int64_t total = 0;
    for (int64_t c : counts) total += c;
    if (total != recv.numel()) bad("allgatherv", "recv must hold the sum of counts");
    const ncclDataType_t type = nccl_type(send.dtype(), "allgatherv");
    const size_t elem = dtype_size(send.dtype());
    return enqueue(s, "allgatherv", [&](cudaStream_t cs) {
      ncclResult_t rc = ncclGroupStart();
      int64_t at = 0;
      for (int r = 0; r < size() && (rc == ncclSuccess || rc == ncclInProgress); ++r) {
        char* slot = static_cast<char*>(recv.data()) + at * static_cast<int64_t>(elem);
        const void* from = r == rank() ? send.data() : slot;
        rc = ncclBroadcast(from, slot, static_cast<size_t>(counts[static_cast<size_t>(r)]), type, r, comm_, cs);
        at += counts[static_cast<size_t>(r)];
      }
      const ncclResult_t end = ncclGroupEnd();
      return rc == ncclSuccess || rc == ncclInProgress ? end : rc;
    });
  }
  Request ibroadcast(Stream& s, const Tensor& buf, int root) override {
    if (on_host(buf, buf)) return bootstrap_->ibroadcast(s, buf, root);
    on_gpu(buf, buf, "broadcast");
    if (root < 0 || root >= size()) bad("broadcast", "root " + std::to_string(root) + " is not a rank");
    return enqueue(s, "broadcast", [&](cudaStream_t cs) {
      return ncclBroadcast(buf.data(), buf.data(), count(buf), nccl_type(buf.dtype(), "broadcast"), root, comm_, cs);
    });
  }
  std::vector<int64_t> allgather_value(int64_t mine) override { return bootstrap_->allgather_value(mine); }
  void barrier() override { bootstrap_->barrier(); }
  std::shared_ptr<Communicator> split(int color, int key) override {
    return std::make_shared<NcclCommunicator>(bootstrap_->split(color, key), gpu_);
  }
  [[noreturn]] void abort(int code) override {
    abort_nccl();
    bootstrap_->abort(code);
    std::_Exit(code);  // not reached: a virtual call does not carry [[noreturn]] for the compiler
  }

 private:
  std::shared_ptr<Communicator> bootstrap_;
  Device gpu_;
  int ordinal_;
  ncclComm_t comm_ = nullptr;
  bool aborted_ = false;

  std::string where() const { return gpu_.id() + " rank " + std::to_string(rank()); }
  [[noreturn]] void bad(const char* what, const std::string& detail) const {
    throw Error(ErrorKind::invalid_argument, where(), what, detail);
  }
  void check(ncclResult_t rc, const char* call) const {
    if (rc == ncclSuccess || rc == ncclInProgress) return;
    const char* last = comm_ ? ncclGetLastError(comm_) : "";
    throw Error(ErrorKind::communication, where(), call,
                std::string(ncclGetErrorString(rc)) + (last && *last ? std::string(": ") + last : ""));
  }
  void cuda_check(cudaError_t rc, const char* call) const {
    if (rc != cudaSuccess) throw Error(ErrorKind::device, where(), call, cudaGetErrorString(rc));
  }
  void abort_nccl() {
    if (comm_ != nullptr && !aborted_) ncclCommAbort(comm_);
    aborted_ = true;
  }
  static size_t count(const Tensor& t) { return static_cast<size_t>(t.numel()); }
  // Small host tensors (losses, timings, flags) go over the bootstrap; device tensors over NCCL.
  static bool on_host(const Tensor& a, const Tensor& b) {
    return a && b && a.device().props().host_accessible && b.device().props().host_accessible;
  }
  void on_gpu(const Tensor& a, const Tensor& b, const char* what) const {
    if (!a || !b) bad(what, "missing tensor");
    if (!(a.device() == gpu_) || !(b.device() == gpu_))
      bad(what, "tensors must be on " + gpu_.id() + " (" + a.device().id() + ", " + b.device().id() + " given)");
    if (a.dtype() != b.dtype()) bad(what, "send and recv differ in dtype");
  }
  void same_size(const Tensor& a, const Tensor& b, const char* what) const {
    on_gpu(a, b, what);
    if (a.numel() != b.numel()) bad(what, "send and recv differ in size");
  }
  // Polls NCCL until a non-blocking call has finished; aborts the communicator on timeout.
  void wait_ready(const char* call) {
    const auto start = Clock::now();
    for (;;) {
      ncclResult_t state = ncclSuccess;
      check(ncclCommGetAsyncError(comm_, &state), "ncclCommGetAsyncError");
      if (state == ncclSuccess) return;
      if (state != ncclInProgress) check(state, call);
      if (Clock::now() - start > timeout()) {
        abort_nccl();
        throw Error(ErrorKind::timeout, where(), call,
                    "not done within the timeout; the NCCL communicator was aborted");
      }
    }
  }

  // In flight: an event behind the collective, and NCCL's error state; past the timeout the
  // communicator is aborted (ncclCommAbort), so the GPU queue is released, before failing.
  struct Pending final : Request::Impl {
    NcclCommunicator* comm;
    cudaEvent_t done = nullptr;
    Clock::time_point start = Clock::now();
    std::string what;
    ~Pending() override {
      if (done) cudaEventDestroy(done);
    }
    bool test() override {
      ncclResult_t state = ncclSuccess;
      comm->check(ncclCommGetAsyncError(comm->comm_, &state), "ncclCommGetAsyncError");
      if (state != ncclSuccess && state != ncclInProgress) comm->check(state, what.c_str());
      const cudaError_t q = cudaEventQuery(done);
      if (q == cudaSuccess) return true;
      if (q != cudaErrorNotReady) comm->cuda_check(q, "cudaEventQuery");
      if (Clock::now() - start > comm->timeout()) {
        comm->abort_nccl();
        throw Error(ErrorKind::timeout, comm->where(), what,
                    "not complete within the timeout: a peer has died or stopped; the NCCL communicator was aborted");
      }
      return false;
    }
  };

  template <class Call>
  Request enqueue(Stream& s, const char* what, Call&& call) {
    if (aborted_) throw Error(ErrorKind::communication, where(), what, "the NCCL communicator was aborted");
    if (!(s.device() == gpu_)) bad(what, "the stream must be on " + gpu_.id() + ", not " + s.device().id());
    const cudaStream_t cs = cuda::stream_of(s);
    faults::point(faults::Site::collective, where(), what);
    cuda_check(cudaSetDevice(ordinal_), "cudaSetDevice");
    // A non-blocking communicator may still be enqueuing when the call returns (ncclInProgress):
    // NCCL wants that finished before anything else is called on it.
    const ncclResult_t rc = call(cs);
    check(rc, what);
    if (rc == ncclInProgress) wait_ready(what);
    auto p = std::make_unique<Pending>();
    p->comm = this;
    p->what = what;
    cuda_check(cudaEventCreateWithFlags(&p->done, cudaEventDisableTiming), "cudaEventCreate");
    cuda_check(cudaEventRecord(p->done, cs), "cudaEventRecord");
    return Request(std::move(p), std::string("nccl ") + what, rank(), timeout());
  }
};

}  // namespace

bool nccl_built() { return true; }

std::shared_ptr<Communicator> nccl_communicator(std::shared_ptr<Communicator> bootstrap, const Device& gpu) {
  if (!bootstrap) throw Error(ErrorKind::invalid_argument, "", "nccl", "no bootstrap communicator");
  if (!gpu || gpu.kind() != DeviceKind::cuda)
    throw Error(ErrorKind::invalid_argument, gpu ? gpu.id() : "", "nccl", "NCCL runs on cuda devices");
  return std::make_shared<NcclCommunicator>(std::move(bootstrap), gpu);
}

}  // namespace tandem::collectives
