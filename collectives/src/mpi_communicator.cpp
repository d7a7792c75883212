// Communicators over MPI_COMM_WORLD and its splits (OpenMPI): non-blocking collectives (MPI_Iallreduce,
// …) on host pointers. Tensors on host-accessible devices are used in place; others are staged
// through host memory and copied back when the request finishes. f16/bf16 reductions use
// MPI operations that compute each step in f32. A timeout names the ranks that never arrived at
// the collective (presence.h).
#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <numeric>
#include <thread>

#include "presence.h"
#include "tandem/collectives/communicator.h"
#include "tandem/error.h"
#include "tandem/fault.h"

namespace tandem::collectives {
namespace {

std::string mpi_message(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  return std::string(text, static_cast<size_t>(len));
}

// f16 / bf16 element-wise reductions computed in f32.
template <float (*Load)(uint16_t), uint16_t (*Store)(float), int Op>
void half_op(void* in, void* inout, int* len, MPI_Datatype*) {
  const auto* a = static_cast<const uint16_t*>(in);
  auto* b = static_cast<uint16_t*>(inout);
  for (int i = 0; i < *len; ++i) {
    const float x = Load(a[i]), y = Load(b[i]);
    b[i] = Store(Op == 0 ? x + y : Op == 1 ? (x > y ? x : y) : (x < y ? x : y));
  }
}

struct MpiState {
  bool we_initialized = false;
  MPI_Op half[2][3] = {};  // [f16, bf16][sum, max, min]
};

MpiState& state() {
  static MpiState s;
  return s;
}

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  for (auto& ops : state().half)
    for (MPI_Op& op : ops)
      if (op != MPI_OP_NULL) MPI_Op_free(&op);
  MPI_Finalize();
}

void init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      if (rc != MPI_SUCCESS) throw Error(ErrorKind::communication, "", "MPI_Init", mpi_message(rc));
      state().we_initialized = true;
      std::atexit(finalize_at_exit);
    }
    auto& h = state().half;
    MPI_Op_create(&half_op<f16_to_f32, f32_to_f16, 0>, 1, &h[0][0]);
    MPI_Op_create(&half_op<f16_to_f32, f32_to_f16, 1>, 1, &h[0][1]);
    MPI_Op_create(&half_op<f16_to_f32, f32_to_f16, 2>, 1, &h[0][2]);
    MPI_Op_create(&half_op<bf16_to_f32, f32_to_bf16, 0>, 1, &h[1][0]);
    MPI_Op_create(&half_op<bf16_to_f32, f32_to_bf16, 1>, 1, &h[1][1]);
    MPI_Op_create(&half_op<bf16_to_f32, f32_to_bf16, 2>, 1, &h[1][2]);
  });
}

MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::f32:
      return MPI_FLOAT;
    case DType::f16:
    case DType::bf16:
      return MPI_UINT16_T;
    case DType::i8:
      return MPI_INT8_T;
    case DType::i32:
      return MPI_INT32_T;
    case DType::u8:
      return MPI_UINT8_T;
  }
  return MPI_DATATYPE_NULL;
}

// A tensor as host memory MPI can use: in place on host-accessible devices, else a staged copy
// (filled from the device for inputs; copied back by the request for outputs).
struct HostView {
  Tensor tensor;
  std::vector<uint8_t> staged;
  void* ptr = nullptr;

  HostView(const Tensor& t, bool input) : tensor(t) {
    if (t.device().props().host_accessible) {
      ptr = t.data();
      return;
    }
    staged.resize(t.nbytes());
    if (input) t.copy_to_host(staged.data());
    ptr = staged.data();
  }
  void copy_back() {
    if (!staged.empty()) tensor.copy_from_host(staged.data());
  }
};

struct MpiRequest final : Request::Impl {
  MPI_Request request = MPI_REQUEST_NULL;
  std::unique_ptr<HostView> send, recv;  // kept alive while MPI uses them
  std::vector<int> counts, displs;
  std::shared_ptr<void> keep;
  std::shared_ptr<Arrivals> arrivals;  // null without a presence channel
  bool test() override {
    int done = 0;
    const int rc = MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) throw Error(ErrorKind::communication, "", "MPI_Test", mpi_message(rc));
    return done != 0;
  }
  void finish() override {
    if (recv) recv->copy_back();
  }
  std::string stall_reason() override {
    if (!arrivals) return Impl::stall_reason();
    arrivals->poll();
    return arrivals->describe();
  }
};

// Ends the job when a blocking call outlives its deadline: a rank blocked inside MPI cannot
// throw, and a lost peer must not hang the others. Arming is two atomic stores (no lock, no
// wake-up), so it costs nothing next to a small collective; the thread looks every 50 ms.
// The message names the ranks that never arrived from the collective's presence receives,
// which MPI fills while the caller is blocked: the watchdog reads them without calling MPI.
class Watchdog {
 public:
  Watchdog() : thread_([this] { watch(); }) {}
  ~Watchdog() {
    stop_ = true;
    thread_.join();
  }
  // op and tensor outlive the call: the message is composed only if it ever times out.
  void arm(const char* op, const Tensor* tensor, int rank, std::chrono::milliseconds timeout,
           const Arrivals* arrivals) {
    op_ = op;
    tensor_ = tensor;
    rank_ = rank;
    arrivals_ = arrivals;
    timeout_ms_ = timeout.count();
    since_ns_.store(now_ns(), std::memory_order_release);
  }
  void disarm() { since_ns_.store(0, std::memory_order_release); }

 private:
  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  // Time this process did not run (its ticks, 50 ms apart, came more than a second apart: it was
  // stopped, or its machine starved it) is not time spent waiting for the peers: a rank resumed
  // after SIGSTOP must not blame a peer for its own pause (mpirun sends SIGCONT before it kills).
  void watch() {
    int64_t last = now_ns(), armed_at = 0, paused = 0;
    while (!stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const int64_t now = now_ns();
      const int64_t since = since_ns_.load(std::memory_order_acquire);
      if (since != armed_at) {  // armed anew
        armed_at = since;
        paused = 0;
      }
      if (since != 0 && now - last > 1000000000) paused += now - std::max(last, since);
      last = now;
      if (since != 0 && now - since - paused > timeout_ms_ * 1000000) {
        const Arrivals* arrivals = arrivals_.load();
        const std::string why = arrivals != nullptr ? arrivals->describe() : std::string(Request::Impl::unknown_stall);
        std::fprintf(stderr, "tandem: rank %d %s: not complete after %.1f s: %s; ending the job\n", rank_.load(),
                     (std::string(op_.load()) + " " + tensor_.load()->str()).c_str(),
                     static_cast<double>(timeout_ms_.load()) / 1000.0, why.c_str());
        std::fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);  // the whole job: a split's peers are stuck too
        std::_Exit(1);
      }
    }
  }
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> since_ns_{0}, timeout_ms_{0};
  std::atomic<int> rank_{0};
  std::atomic<const char*> op_{""};
  std::atomic<const Tensor*> tensor_{nullptr};
  std::atomic<const Arrivals*> arrivals_{nullptr};
  std::thread thread_;
};

// One for the process: blocking calls come from one thread at a time.
Watchdog& watchdog() {
  static Watchdog w;
  return w;
}

// Each rank's rank in MPI_COMM_WORLD, for naming a split's ranks; empty when they are the same.
std::shared_ptr<const std::vector<int>> world_ranks(MPI_Comm comm, int size) {
  MPI_Group group = MPI_GROUP_NULL, world = MPI_GROUP_NULL;
  MPI_Comm_group(comm, &group);
  MPI_Comm_group(MPI_COMM_WORLD, &world);
  std::vector<int> ranks(static_cast<size_t>(size)), in_world(ranks.size());
  std::iota(ranks.begin(), ranks.end(), 0);
  MPI_Group_translate_ranks(group, size, ranks.data(), world, in_world.data());
  MPI_Group_free(&group);
  MPI_Group_free(&world);
  if (in_world == ranks) in_world.clear();
  return std::make_shared<const std::vector<int>>(std::move(in_world));
}

class MpiCommunicator final : public Communicator {
 public:
  // comm is freed with the communicator when owned (splits; not MPI_COMM_WORLD). Collective: the
  // ranks create the presence channel together.
  MpiCommunicator(MPI_Comm comm, bool owned, std::chrono::milliseconds timeout) : comm_(comm), owned_(owned) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    name_ = "rank " + std::to_string(rank_);
    timeout_ = timeout;
    if (size_ >= 2 && size_ <= Presence::max_ranks) {
      static const Tensor none;
      MPI_Comm channel = MPI_COMM_NULL;
      watched("presence channel", none, nullptr, [&] { return MPI_Comm_dup(comm_, &channel); });
      presence_ = std::make_unique<Presence>(channel, world_ranks(comm_, size_));
    }
  }
  ~MpiCommunicator() override {
    presence_.reset();
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owned_ && !finalized) MPI_Comm_free(&comm_);
  }
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  std::shared_ptr<Communicator> split(int color, int key) override {
    if (color < 0) bad("split", "color must be ≥ 0");
    MPI_Comm out = MPI_COMM_NULL;
    blocking_call("split", [&] { return MPI_Comm_split(comm_, color, key, &out); });
    return std::make_shared<MpiCommunicator>(out, true, timeout_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "mpi"; }

  Request iallreduce(Stream& s, const Tensor& send, const Tensor& recv, ReduceOp op) override {
    const std::string what = "allreduce " + send.str();
    check_pair(what, send, recv, send.numel());
    if (send.dtype() == DType::i8 || send.dtype() == DType::u8) bad(what, "reductions take f32, f16, bf16 or i32");
    s.synchronize();
    auto r = std::make_unique<MpiRequest>();
    const bool in_place = send.data() == recv.data() && send.device() == recv.device();
    r->recv = std::make_unique<HostView>(recv, in_place);
    if (!in_place) r->send = std::make_unique<HostView>(send, true);
    call(what, *r, [&] {
      return MPI_Iallreduce(in_place ? MPI_IN_PLACE : r->send->ptr, r->recv->ptr, count(what, send.numel()),
                            mpi_type(send.dtype()), mpi_op(send.dtype(), op), comm_, &r->request);
    });
    return issue(std::move(r), what);
  }

  Request ireduce_scatter(Stream& s, const Tensor& send, const Tensor& recv, ReduceOp op) override {
    const std::string what = "reduce_scatter " + send.str();
    if (send.numel() != recv.numel() * size_)
      bad(what, "send has " + std::to_string(send.numel()) + " elements; recv " + recv.str() + " times " +
                    std::to_string(size_) + " ranks is " + std::to_string(recv.numel() * size_));
    check_pair(what, send, recv, recv.numel());
    s.synchronize();
    auto r = std::make_unique<MpiRequest>();
    r->send = std::make_unique<HostView>(send, true);
    r->recv = std::make_unique<HostView>(recv, false);
    call(what, *r, [&] {
      return MPI_Ireduce_scatter_block(r->send->ptr, r->recv->ptr, count(what, recv.numel()), mpi_type(send.dtype()),
                                       mpi_op(send.dtype(), op), comm_, &r->request);
    });
    return issue(std::move(r), what);
  }

  Request iallgather(Stream& s, const Tensor& send, const Tensor& recv) override {
    const std::string what = "allgather " + send.str();
    if (recv.numel() != send.numel() * size_)
      bad(what, "recv " + recv.str() + " must hold " + std::to_string(size_) + " × " + std::to_string(send.numel()) +
                    " elements");
    check_pair(what, send, recv, send.numel());
    s.synchronize();
    auto r = std::make_unique<MpiRequest>();
    r->send = std::make_unique<HostView>(send, true);
    r->recv = std::make_unique<HostView>(recv, false);
    call(what, *r, [&] {
      return MPI_Iallgather(r->send->ptr, count(what, send.numel()), mpi_type(send.dtype()), r->recv->ptr,
                            count(what, send.numel()), mpi_type(send.dtype()), comm_, &r->request);
    });
    return issue(std::move(r), what);
  }

  Request iallgatherv(Stream& s, const Tensor& send, const Tensor& recv, std::span<const int64_t> counts) override {
    const std::string what = "allgatherv " + send.str();
    auto r = std::make_unique<MpiRequest>();
    gatherv_layout(what, send, recv, counts, r->counts, r->displs);
    check_pair(what, send, recv, send.numel());
    s.synchronize();
    r->send = std::make_unique<HostView>(send, true);
    r->recv = std::make_unique<HostView>(recv, false);
    call(what, *r, [&] {
      return MPI_Iallgatherv(r->send->ptr, count(what, send.numel()), mpi_type(send.dtype()), r->recv->ptr,
                             r->counts.data(), r->displs.data(), mpi_type(send.dtype()), comm_, &r->request);
    });
    return issue(std::move(r), what);
  }

  Request ibroadcast(Stream& s, const Tensor& buf, int root) override {
    const std::string what = "broadcast " + buf.str() + " from rank " + std::to_string(root);
    if (root < 0 || root >= size_) bad(what, "no rank " + std::to_string(root) + " among " + std::to_string(size_));
    if (!buf) bad(what, "empty tensor");
    s.synchronize();
    auto r = std::make_unique<MpiRequest>();
    r->recv = std::make_unique<HostView>(buf, rank_ == root);
    call(what, *r, [&] {
      return MPI_Ibcast(r->recv->ptr, count(what, buf.numel()), mpi_type(buf.dtype()), root, comm_, &r->request);
    });
    return issue(std::move(r), what);
  }

  std::vector<int64_t> allgather_value(int64_t mine) override {
    auto values = std::make_shared<std::vector<int64_t>>(static_cast<size_t>(size_), 0);
    (*values)[static_cast<size_t>(rank_)] = mine;
    auto r = std::make_unique<MpiRequest>();
    r->keep = values;  // alive as long as MPI may write into it, even after a timeout
    call("allgather sizes", *r, [&] {
      return MPI_Iallgather(MPI_IN_PLACE, 1, MPI_INT64_T, values->data(), 1, MPI_INT64_T, comm_, &r->request);
    });
    issue(std::move(r), "allgather sizes").wait();
    return *values;
  }

  // Blocking forms: MPI's blocking collectives (its tuned algorithms), under the watchdog.
  // The hot path of gradient sync: messages are composed only on failure.
  void allreduce(Stream& s, const Tensor& send, const Tensor& recv, ReduceOp op) override {
    if (!send || !recv || send.dtype() != recv.dtype() || send.dtype() == DType::i8 || send.dtype() == DType::u8 ||
        send.numel() > INT32_MAX) {
      const std::string what = "allreduce " + (send ? send.str() : std::string("(empty)"));
      check_pair(what, send, recv, send.numel());
      count(what, send.numel());
      bad(what, "reductions take f32, f16, bf16 or i32");
    }
    s.synchronize();
    const bool in_place = send.data() == recv.data() && send.device() == recv.device();
    HostView out(recv, in_place);
    std::unique_ptr<HostView> in = in_place ? nullptr : std::make_unique<HostView>(send, true);
    blocking("allreduce", send, [&] {
      return MPI_Allreduce(in_place ? MPI_IN_PLACE : in->ptr, out.ptr, static_cast<int>(send.numel()),
                           mpi_type(send.dtype()), mpi_op(send.dtype(), op), comm_);
    });
    out.copy_back();
  }

  void allgatherv(Stream& s, const Tensor& send, const Tensor& recv, std::span<const int64_t> counts) override {
    const std::string what = "allgatherv " + send.str();
    std::vector<int> cs, ds;
    gatherv_layout(what, send, recv, counts, cs, ds);
    check_pair(what, send, recv, send.numel());
    s.synchronize();
    HostView in(send, true), out(recv, false);
    blocking("allgatherv", send, [&] {
      return MPI_Allgatherv(in.ptr, count(what, send.numel()), mpi_type(send.dtype()), out.ptr, cs.data(), ds.data(),
                            mpi_type(send.dtype()), comm_);
    });
    out.copy_back();
  }

  void broadcast(Stream& s, const Tensor& buf, int root) override {
    const std::string what = "broadcast " + buf.str() + " from rank " + std::to_string(root);
    if (root < 0 || root >= size_) bad(what, "no rank " + std::to_string(root) + " among " + std::to_string(size_));
    if (!buf) bad(what, "empty tensor");
    s.synchronize();
    HostView view(buf, rank_ == root);
    blocking("broadcast", buf,
             [&] { return MPI_Bcast(view.ptr, count(what, buf.numel()), mpi_type(buf.dtype()), root, comm_); });
    view.copy_back();
  }

  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);  // every rank of the job, not just this split
    std::_Exit(code);
  }

  void barrier() override {
    auto r = std::make_unique<MpiRequest>();
    call("barrier", *r, [&] { return MPI_Ibarrier(comm_, &r->request); });
    issue(std::move(r), "barrier").wait();
  }

 private:
  int rank_ = 0, size_ = 1;
  std::string name_;  // "rank 1": errors and fault targets name the rank

  // allgatherv's counts and displacements as MPI's ints, after checking them against the tensors.
  void gatherv_layout(const std::string& what, const Tensor& send, const Tensor& recv, std::span<const int64_t> counts,
                      std::vector<int>& cs, std::vector<int>& ds) const {
    if (static_cast<int>(counts.size()) != size_)
      bad(what, std::to_string(counts.size()) + " counts for " + std::to_string(size_) + " ranks");
    if (counts[static_cast<size_t>(rank_)] != send.numel())
      bad(what, "this rank's count is " + std::to_string(counts[static_cast<size_t>(rank_)]) + ", send holds " +
                    std::to_string(send.numel()));
    int64_t total = 0;
    for (int64_t c : counts) {
      ds.push_back(count(what, total));
      cs.push_back(count(what, c));
      total += c;
    }
    if (recv.numel() != total)
      bad(what, "recv " + recv.str() + " must hold the " + std::to_string(total) + " elements");
  }

  [[noreturn]] void bad(const std::string& what, const std::string& detail) const {
    throw Error(ErrorKind::invalid_argument, name_, what, detail);
  }
  // Posts a collective (a callable returning its MPI status) as r; a failure is an Error naming it.
  template <class Post>
  void call(const std::string& what, MpiRequest& r, Post&& post) {
    faults::point(faults::Site::collective, name_, what);
    if (presence_) r.arrivals = presence_->enter();
    const int rc = post();
    if (rc != MPI_SUCCESS) throw Error(ErrorKind::communication, name_, what, mpi_message(rc));
  }
  int count(const std::string& what, int64_t n) const {
    if (n < 0 || n > INT32_MAX) bad(what, std::to_string(n) + " elements: MPI counts are 32-bit (split the buffer)");
    return static_cast<int>(n);
  }
  void check_pair(const std::string& what, const Tensor& send, const Tensor& recv, int64_t) const {
    if (!send || !recv) bad(what, "empty tensor");
    if (send.dtype() != recv.dtype())
      bad(what, "send " + send.str() + " and recv " + recv.str() + " have different dtypes");
  }
  MPI_Op mpi_op(DType t, ReduceOp op) const {
    const int o = op == ReduceOp::sum ? 0 : op == ReduceOp::max ? 1 : 2;
    if (t == DType::f16) return state().half[0][o];
    if (t == DType::bf16) return state().half[1][o];
    return o == 0 ? MPI_SUM : o == 1 ? MPI_MAX : MPI_MIN;
  }
  template <class F>
  void blocking(const char* op, const Tensor& t, F&& f) {
    faults::point(faults::Site::collective, name_, op);
    const std::shared_ptr<Arrivals> arrivals = presence_ ? presence_->enter() : nullptr;
    watched(op, t, arrivals.get(), std::forward<F>(f));
  }
  // A blocking MPI call under the watchdog.
  template <class F>
  void watched(const char* op, const Tensor& t, const Arrivals* arrivals, F&& f) {
    watchdog().arm(op, &t, rank_, timeout_, arrivals);
    const int rc = f();
    watchdog().disarm();
    if (rc != MPI_SUCCESS)
      throw Error(ErrorKind::communication, name_, std::string(op) + " " + t.str(), mpi_message(rc));
  }
  template <class F>
  void blocking_call(const char* op, F&& f) {
    static const Tensor none;
    blocking(op, none, std::forward<F>(f));
  }
  MPI_Comm comm_;
  bool owned_;
  std::unique_ptr<Presence> presence_;  // null for one rank, or above Presence::max_ranks

  Request issue(std::unique_ptr<MpiRequest> r, const std::string& what) {
    return Request(std::move(r), what, rank_, timeout_);
  }
};

}  // namespace

std::shared_ptr<Communicator> mpi_world() {
  static std::shared_ptr<Communicator> world = [] {
    init_once();
    return std::make_shared<MpiCommunicator>(MPI_COMM_WORLD, false, std::chrono::seconds(60));
  }();
  return world;
}

}  // namespace tandem::collectives
