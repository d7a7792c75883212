#include "tandem/collectives/buckets.h"

#include <algorithm>
#include <chrono>

#include "tandem/error.h"
#include "tandem/ops.h"

namespace tandem::collectives {

GradientBuckets::GradientBuckets(GradientSync& sync, std::vector<const Tensor*> grads, size_t bucket_bytes,
                                 uint64_t seed, bool overlap)
    : seed_(seed),
      overlap_(overlap),
      grads_(std::move(grads)),
      bucket_bytes_(std::max<size_t>(bucket_bytes, 4)),
      where_(grads_.size()) {
  if (grads_.empty()) throw Error(ErrorKind::invalid_argument, "", "gradient buckets", "no gradients");
  const Device d = grads_.front()->device();
  // Reverse parameter order: the order in which the backward pass finishes them.
  std::vector<std::vector<size_t>> groups(1);
  size_t bytes = 0;
  for (size_t i = grads_.size(); i-- > 0;) {
    if (grads_[i]->device() != d)
      throw Error(ErrorKind::unsupported, d.id(), "gradient buckets", "gradients on several devices");
    if (bytes > 0 && bytes + grads_[i]->nbytes() > bucket_bytes_) {
      groups.emplace_back();
      bytes = 0;
    }
    groups.back().push_back(i);
    bytes += grads_[i]->nbytes();
  }
  uint64_t key_offset = 0;
  for (const auto& g : groups) {
    Bucket b;
    int64_t n = 0;
    for (size_t i : g) {
      where_[i] = {buckets_.size(), b.members.size()};
      b.members.push_back(i);
      b.offsets.push_back(n);
      n += grads_[i]->numel();
    }
    b.flat = Tensor::empty(d, {n});
    b.key_offset = key_offset;
    b.sync = std::make_unique<GradientSync>(sync.comm().dup(), sync.spec(), sync.error_feedback());
    key_offset += static_cast<uint64_t>(n);
    buckets_.push_back(std::move(b));
  }
}

void GradientBuckets::start(Stream& s, size_t bucket, uint32_t step) {
  Bucket& b = buckets_[bucket];
  const numeric::RandomKey key{seed_, step, 0, b.key_offset};
  const uint64_t before = b.sync->bytes_sent();  // counted as the messages are posted
  if (overlap_)
    b.request = b.sync->start(s, b.flat, 0, key);
  else
    b.sync->sync(s, b.flat, 0, key);
  sent_ += b.sync->bytes_sent() - before;
}

void GradientBuckets::ready(Stream& s, uint32_t step, size_t first, size_t count) {
  for (size_t i = first; i < first + count; ++i) {
    const auto [bi, member] = where_[i];
    Bucket& b = buckets_[bi];
    const Tensor& g = *grads_[i];
    ops::cast(s, g, Tensor(b.flat.buffer(), {g.numel()}, DType::f32, static_cast<size_t>(b.offsets[member]) * 4));
    if (++b.filled == b.members.size() && overlap_) start(s, bi, step);
  }
  for (Bucket& b : buckets_) b.request.test();  // progress while the backward pass goes on
}

void GradientBuckets::finish(Stream& s, uint32_t step) {
  for (size_t bi = 0; bi < buckets_.size(); ++bi) {
    Bucket& b = buckets_[bi];
    if (b.filled != b.members.size())
      throw Error(ErrorKind::internal, "", "gradient buckets", "bucket " + std::to_string(bi) + " incomplete");
    if (overlap_)
      b.request.wait();
    else
      start(s, bi, step);
    for (size_t m = 0; m < b.members.size(); ++m) {
      const Tensor& g = *grads_[b.members[m]];
      ops::cast(s, Tensor(b.flat.buffer(), {g.numel()}, DType::f32, static_cast<size_t>(b.offsets[m]) * 4),
                g.reshape({g.numel()}));
    }
    b.filled = 0;
  }
}

void GradientBuckets::set_codec(size_t bucket, compression::CodecSpec spec, bool error_feedback) {
  Bucket& b = buckets_.at(bucket);
  b.sync = std::make_unique<GradientSync>(b.sync->comm_ptr(), spec, error_feedback);
}

LinkModel measure_link(Communicator& comm) {
  Stream s(cpu_device());
  auto time_of = [&](int64_t n) {
    Tensor t = Tensor::zeros(cpu_device(), {n});
    comm.allreduce(s, t, t);
    const auto start = std::chrono::steady_clock::now();
    const int reps = 5;
    for (int r = 0; r < reps; ++r) comm.allreduce(s, t, t);
    double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / reps;
    Tensor m = Tensor::from_vector(cpu_device(), {1}, std::vector<float>{static_cast<float>(sec)});
    comm.allreduce(s, m, m, ReduceOp::max);  // every rank decides the same
    return static_cast<double>(m.to_f32()[0]);
  };
  const double small = time_of(1024), large = time_of(1 << 20);
  LinkModel link;
  link.beta = std::max(1e-12, (large - small) / (4.0 * ((1 << 20) - 1024)));  // s per byte
  link.alpha = std::max(0.0, small - 4096 * link.beta);
  return link;
}

size_t auto_bucket_bytes(Communicator& comm) {
  const LinkModel link = measure_link(comm);
  const double bytes = 10.0 * link.alpha / link.beta;
  return static_cast<size_t>(std::clamp(bytes, 64.0 * 1024, 25.0 * 1024 * 1024));
}

}  // namespace tandem::collectives
