#include "tandem/collectives/gradient_sync.h"

#include <cstring>

#include "tandem/error.h"
#include "tandem/ops.h"

namespace tandem::collectives {

using compression::Codec;

struct GradientSync::PerTensor {
  compression::GradientCodec codec;
  compression::ErrorFeedback feedback;
  Tensor own;                  // what this rank's message decodes to (for error feedback)
  Tensor half;                 // fp16/bf16 staging
  Tensor p, q;                 // PowerSGD factors
  Tensor gathered;             // every rank's messages (u8, host-accessible device)
  Tensor size_bytes;           // every rank's message size (8 bytes each), when sizes vary
  std::vector<int64_t> sizes;  // of the messages gathered
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

Request GradientSync::allreduce(Stream& s, const Tensor& t, bool blocking) {
  if (!blocking) return comm_->iallreduce(s, t, t);
  comm_->allreduce(s, t, t);
  return {};
}

Request GradientSync::allgather(Stream& s, const Tensor& send, const Tensor& recv, std::span<const int64_t> counts,
                                bool blocking) {
  if (!blocking) return comm_->iallgatherv(s, send, recv, counts);
  comm_->allgatherv(s, send, recv, counts);
  return {};
}

SyncRequest GradientSync::begin(Stream& s, const Tensor& grad, size_t tensor, numeric::RandomKey key,
                                bool blocking) {
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
  SyncRequest r;
  const auto then = [&r](std::function<Request()> f) { r.rounds_.push_back(std::move(f)); };
  auto average = [s, grad, mean]() mutable {
    ops::scale(s, mean, grad);
    return Request{};
  };

  switch (spec_.codec) {
    case Codec::none:
      r.current_ = allreduce(s, grad, blocking);
      bytes_sent_ += grad.nbytes();
      then(average);
      break;
    case Codec::fp16:
    case Codec::bf16: {
      Tensor& half = ensure(t.half, d, grad.shape(), spec_.codec == Codec::fp16 ? DType::f16 : DType::bf16);
      ops::cast(s, grad, half);
      if (error_feedback_) {
        ops::cast(s, half, ensure(t.own, d, grad.shape()));
        update_feedback(t.own);
      }
      r.current_ = allreduce(s, half, blocking);
      bytes_sent_ += half.nbytes();
      then([s, half, grad, average]() mutable {
        ops::cast(s, half, grad);
        return average();
      });
      break;
    }
    case Codec::powersgd: {
      const compression::LowRankShape m = t.codec.lowrank_shape(grad.shape());
      Tensor& p = ensure(t.p, d, {m.rows, m.rank});
      Tensor& q = ensure(t.q, d, {m.cols, m.rank});
      t.codec.lowrank_p(s, grad, key, p);
      r.current_ = allreduce(s, p, blocking);  // Σ M_r·Q: every rank then orthonormalizes the same P
      bytes_sent_ += p.nbytes() + q.nbytes();
      then([this, &t, s, grad, p, q, m, blocking]() mutable {
        t.codec.lowrank_q(s, grad, p, q);
        if (error_feedback_) {  // this rank's own approximation P̂·Q_rᵀ, before Q is summed
          ops::gemm(s, p, q, ensure(t.own, s.device(), grad.shape()).reshape({m.rows, m.cols}), {false, true});
          t.feedback.update(s, grad, t.own);
        }
        return allreduce(s, q, blocking);  // Σ M_rᵀ·P̂
      });
      then([&t, s, grad, p, q, m, average]() mutable {
        t.codec.restore_state(s, q);
        ops::gemm(s, p, q, grad.reshape({m.rows, m.cols}), {false, true});
        return average();
      });
      break;
    }
    default:  // allgather of messages, then decode-and-sum
      if (d.props().host_accessible) {
        gather_host_messages(s, grad, t, key, blocking, r);
      } else {
        gather_device_payloads(s, grad, t, key, blocking, r);
      }
      break;
  }
  return r;
}

// Every rank's message size into t.sizes, then `gather`: at once when the codec's messages all
// have this rank's size, else after an allgather of the sizes (host, 8 bytes per rank).
void GradientSync::gather_after_sizes(PerTensor& t, int64_t mine, std::function<Request()> gather, bool blocking,
                                      SyncRequest& r) {
  if (compression::codec_traits(spec_.codec).exact_size) {
    t.sizes.assign(static_cast<size_t>(comm_->size()), mine);
    r.current_ = gather();
    return;
  }
  const Device host = cpu_device();
  Tensor& sizes = ensure(t.size_bytes, host, {8 * comm_->size()}, DType::u8);
  Tensor own = Tensor::from_host(host, {8}, DType::u8, &mine);
  Stream hs(host);
  r.current_ = allgather(hs, own, sizes, std::vector<int64_t>(static_cast<size_t>(comm_->size()), 8), blocking);
  r.rounds_.push_back([this, &t, sizes, gather]() {
    t.sizes.resize(static_cast<size_t>(comm_->size()));
    std::memcpy(t.sizes.data(), sizes.data(), t.sizes.size() * 8);
    return gather();
  });
}

// Messages in host memory (with their wire headers and checksums, checked before decoding).
void GradientSync::gather_host_messages(Stream& s, const Tensor& grad, PerTensor& t, numeric::RandomKey key,
                                        bool blocking, SyncRequest& r) {
  const float mean = 1.0f / static_cast<float>(comm_->size());
  const auto then = [&r](std::function<Request()> f) { r.rounds_.push_back(std::move(f)); };
  const Device d = s.device();
  const std::span<const uint8_t> mine = t.codec.compress(s, grad, key);
  if (error_feedback_) {
    t.codec.decompress(s, mine, ensure(t.own, d, grad.shape()));
    t.feedback.update(s, grad, t.own);
  }
  bytes_sent_ += mine.size();
  const Device host = cpu_device();
  const Tensor send = Tensor(Buffer::wrap_host(host, const_cast<uint8_t*>(mine.data()), mine.size()),
                             {static_cast<int64_t>(mine.size())}, DType::u8);
  const auto gather = [this, &t, send, host, blocking]() {
    int64_t total = 0;
    for (int64_t b : t.sizes) total += b;
    Stream hs(host);
    return allgather(hs, send, ensure(t.gathered, host, {total}, DType::u8), t.sizes, blocking);
  };
  gather_after_sizes(t, static_cast<int64_t>(mine.size()), gather, blocking, r);
  then([&t, s, grad, mean]() mutable {
    const auto* bytes = static_cast<const uint8_t*>(t.gathered.data());
    ops::fill(s, grad, 0.0f);
    int64_t at = 0;
    for (int64_t b : t.sizes) {
      t.codec.decompress(s, {bytes + at, static_cast<size_t>(b)}, grad, true);
      at += b;
    }
    ops::scale(s, mean, grad);
    return Request{};
  });
}

// Payloads left in device memory (GradientCodec::encode), gathered there — by NCCL without the
// host; MPI stages them — and decoded where they landed. Each is padded to 8 bytes in the gather.
void GradientSync::gather_device_payloads(Stream& s, const Tensor& grad, PerTensor& t, numeric::RandomKey key,
                                          bool blocking, SyncRequest& r) {
  const float mean = 1.0f / static_cast<float>(comm_->size());
  const auto then = [&r](std::function<Request()> f) { r.rounds_.push_back(std::move(f)); };
  const Device d = s.device();
  const Tensor mine = t.codec.encode(s, grad, key);
  if (error_feedback_) {
    t.codec.decode(s, mine, ensure(t.own, d, grad.shape()));
    t.feedback.update(s, grad, t.own);
  }
  bytes_sent_ += static_cast<uint64_t>(mine.numel());
  const auto pad = [](int64_t b) { return (b + 7) / 8 * 8; };
  const Tensor send(mine.buffer(), {pad(mine.numel())}, DType::u8, mine.offset());
  auto gather = [this, &t, s, send, d, pad, blocking]() mutable {
    std::vector<int64_t> padded;
    int64_t total = 0;
    for (int64_t b : t.sizes) padded.push_back(pad(b)), total += pad(b);
    return allgather(s, send, ensure(t.gathered, d, {total}, DType::u8), padded, blocking);
  };
  gather_after_sizes(t, mine.numel(), gather, blocking, r);
  then([&t, s, grad, mean, pad]() mutable {
    ops::fill(s, grad, 0.0f);
    int64_t at = 0;
    for (int64_t b : t.sizes) {
      t.codec.decode(s, Tensor(t.gathered.buffer(), {b}, DType::u8, t.gathered.offset() + static_cast<size_t>(at)),
                     grad, true);
      at += pad(b);
    }
    ops::scale(s, mean, grad);
    return Request{};
  });
}

bool SyncRequest::test() {
  while (current_.test()) {
    if (next_ == rounds_.size()) return true;
    current_ = rounds_[next_++]();
  }
  return false;
}

void SyncRequest::wait() {
  for (;;) {
    current_.wait();
    if (next_ == rounds_.size()) return;
    current_ = rounds_[next_++]();
  }
}

}  // namespace tandem::collectives
