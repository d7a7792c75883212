// The communicator of one rank (MPI_COMM_SELF's role): every collective is a copy, or nothing
// when done in place. Training in one process sends its gradients through the same
// GradientSync as a multi-rank run, so there is one compression path, not two.
#include <cstdlib>

#include "tandem/collectives/communicator.h"
#include "tandem/error.h"
#include "tandem/fault.h"
#include "tandem/ops.h"

namespace tandem::collectives {
namespace {

class SelfCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string name() const override { return "self"; }

  Request iallreduce(Stream& s, const Tensor& send, const Tensor& recv, ReduceOp) override {
    return copy(s, "allreduce", send, recv);
  }
  Request ireduce_scatter(Stream& s, const Tensor& send, const Tensor& recv, ReduceOp) override {
    return copy(s, "reduce_scatter", send, recv);
  }
  Request iallgather(Stream& s, const Tensor& send, const Tensor& recv) override {
    return copy(s, "allgather", send, recv);
  }
  Request iallgatherv(Stream& s, const Tensor& send, const Tensor& recv, std::span<const int64_t> counts) override {
    if (counts.size() != 1 || counts[0] != send.numel())
      throw Error(ErrorKind::invalid_argument, "rank 0", "allgatherv", "one rank: counts must be {send's elements}");
    return copy(s, "allgatherv", send, recv);
  }
  Request ibroadcast(Stream&, const Tensor& buf, int root) override {
    if (!buf || root != 0) throw Error(ErrorKind::invalid_argument, "rank 0", "broadcast", "one rank: root must be 0");
    faults::point(faults::Site::collective, "rank 0", "broadcast");
    return {};
  }
  std::vector<int64_t> allgather_value(int64_t mine) override { return {mine}; }
  void barrier() override {}
  std::shared_ptr<Communicator> split(int, int) override { return std::make_shared<SelfCommunicator>(); }
  [[noreturn]] void abort(int code) override { std::_Exit(code); }

 private:
  static Request copy(Stream& s, const char* what, const Tensor& send, const Tensor& recv) {
    if (!send || !recv || send.dtype() != recv.dtype() || send.numel() != recv.numel())
      throw Error(ErrorKind::invalid_argument, "rank 0", what,
                  "send and recv must be tensors of one dtype and size (one rank)");
    faults::point(faults::Site::collective, "rank 0", what);
    if (send.data() != recv.data()) ops::cast(s, send, recv.reshape(send.shape()));
    return {};
  }
};

}  // namespace

std::shared_ptr<Communicator> self_communicator() { return std::make_shared<SelfCommunicator>(); }

}  // namespace tandem::collectives
