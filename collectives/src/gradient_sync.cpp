#include "tandem/collectives/gradient_sync.h"

#include "tandem/error.h"
#include "tandem/ops.h"

namespace tandem::collectives {

using compression::Codec;

struct GradientSync::PerTensor {
  compression::GradientCodec codec;
  compression::ErrorFeedback feedback;
  Tensor own;       // what this rank's message decodes to (for error feedback)
  Tensor half;      // fp16/bf16 staging
  Tensor p, q;      // PowerSGD factors
  Tensor gathered;  // every rank's messages (u8, host-accessible device)
  explicit PerTensor(compression::CodecSpec spec) : codec(spec) {}
};

GradientSync::GradientSync(std::shared_ptr<Communicator> comm, compression::CodecSpec spec, bool error_feedback)
    : comm_(std::move(comm)), spec_(spec), error_feedback_(error_feedback) {
  if (!comm_) throw Error(ErrorKind::invalid_argument, "", "gradient sync", "no communicator");
}

GradientSync::~GradientSync() = default;
GradientSync::GradientSync(GradientSync&&) noexcept = default;
GradientSync& GradientSync::operator=(GradientSync&&) noexcept = default;

GradientSync::PerTensor& GradientSync::at(size_t tensor) {
  while (state_.size() <= tensor) state_.push_back(std::make_unique<PerTensor>(spec_));
  return *state_[tensor];
}

compression::ErrorFeedback* GradientSync::feedback(size_t tensor) {
  return error_feedback_ ? &at(tensor).feedback : nullptr;
}
compression::GradientCodec& GradientSync::codec(size_t tensor) { return at(tensor).codec; }

namespace {

// t reused when it already has this device, shape and dtype.
Tensor& ensure(Tensor& t, const Device& d, const Shape& shape, DType dtype = DType::f32) {
  if (!t || t.device() != d || !(t.shape() == shape) || t.dtype() != dtype) t = Tensor::empty(d, shape, dtype);
  return t;
}

}  // namespace

void GradientSync::sync(Stream& s, const Tensor& grad, size_t tensor, compression::RandomKey key) {
  if (!grad || grad.dtype() != DType::f32)
    throw Error(ErrorKind::invalid_argument, "", "gradient sync", "gradient must be an f32 tensor");
  PerTensor& t = at(tensor);
  const Device d = s.device();
  const float mean = 1.0f / static_cast<float>(comm_->size());
  key.rank = static_cast<uint32_t>(comm_->rank());
  if (error_feedback_) t.feedback.compensate(s, grad);
  const auto update_feedback = [&](const Tensor& own) {
    if (error_feedback_) t.feedback.update(s, grad, own);
  };

  switch (spec_.codec) {
    case Codec::none:
      comm_->allreduce(s, grad, grad);
      bytes_sent_ += grad.nbytes();
      break;
    case Codec::fp16:
    case Codec::bf16: {
      Tensor& half = ensure(t.half, d, grad.shape(), spec_.codec == Codec::fp16 ? DType::f16 : DType::bf16);
      ops::cast(s, grad, half);
      if (error_feedback_) {
        ops::cast(s, half, ensure(t.own, d, grad.shape()));
        update_feedback(t.own);
      }
      comm_->allreduce(s, half, half);
      bytes_sent_ += half.nbytes();
      ops::cast(s, half, grad);
      break;
    }
    case Codec::powersgd: {
      const compression::LowRankShape m = t.codec.lowrank_shape(grad.shape());
      Tensor& p = ensure(t.p, d, {m.rows, m.rank});
      Tensor& q = ensure(t.q, d, {m.cols, m.rank});
      t.codec.lowrank_p(s, grad, key, p);
      comm_->allreduce(s, p, p);  // Σ M_r·Q: every rank now orthonormalizes the same P
      t.codec.lowrank_q(s, grad, p, q);
      if (error_feedback_) {  // this rank's own approximation P̂·Q_rᵀ, before Q is summed
        ops::gemm(s, p, q, ensure(t.own, d, grad.shape()).reshape({m.rows, m.cols}), {false, true});
        update_feedback(t.own);
      }
      comm_->allreduce(s, q, q);  // Σ M_rᵀ·P̂
      t.codec.restore_state(s, q);
      ops::gemm(s, p, q, grad.reshape({m.rows, m.cols}), {false, true});
      bytes_sent_ += p.nbytes() + q.nbytes();
      break;
    }
    default: {  // allgather of messages, then decode-and-sum
      const std::span<const uint8_t> mine = t.codec.compress(s, grad, key);
      if (error_feedback_) {
        t.codec.decompress(s, mine, ensure(t.own, d, grad.shape()));
        update_feedback(t.own);
      }
      const std::vector<int64_t> sizes = comm_->allgather_value(static_cast<int64_t>(mine.size()));
      int64_t total = 0;
      for (int64_t b : sizes) total += b;
      const Device host = cpu_device();
      Tensor& all = ensure(t.gathered, host, {total}, DType::u8);
      const Tensor send = Tensor(Buffer::wrap_host(host, const_cast<uint8_t*>(mine.data()), mine.size()),
                                 {static_cast<int64_t>(mine.size())}, DType::u8);
      Stream hs(host);
      comm_->allgatherv(hs, send, all, sizes);
      bytes_sent_ += mine.size();
      const auto* bytes = static_cast<const uint8_t*>(all.data());
      ops::fill(s, grad, 0.0f);
      int64_t at = 0;
      for (int64_t b : sizes) {
        t.codec.decompress(s, {bytes + at, static_cast<size_t>(b)}, grad, true);
        at += b;
      }
      break;
    }
  }
  ops::scale(s, mean, grad);
}

}  // namespace tandem::collectives
