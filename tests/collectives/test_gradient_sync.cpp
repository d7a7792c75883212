// The compressed allreduce on real ranks against a serial computation: every rank can rebuild
// every other rank's gradient and message (gradients from (rank, index), codecs keyed by rank),
// so the expected mean of what the codec sends is computed locally and compared.
#include <gtest/gtest.h>

#include <cmath>

#include "../ops/harness.h"
#include "tandem/collectives/gradient_sync.h"

namespace tandem::collectives {
namespace {

Tensor gradient_of(int rank, const Shape& shape, unsigned salt) {
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = 0.01f * std::sin(0.37f * static_cast<float>(i) + 1.3f * static_cast<float>(rank) + static_cast<float>(salt));
  return Tensor::from_vector(cpu_device(), shape, v);
}

// Serial: mean over ranks of decode(encode(grad_r)) with the key's rank set to r.
std::vector<float> expected_mean(const compression::CodecSpec& spec, int ranks, const Shape& shape, unsigned salt,
                                 numeric::RandomKey key) {
  Stream s(cpu_device());
  const int64_t n = shape.numel();
  std::vector<double> sum(static_cast<size_t>(n), 0.0);
  if (spec.codec == compression::Codec::powersgd) {
    // P = Σ M_r·Q0, P̂ = orth(P), Q = Σ M_rᵀ·P̂, result P̂·Qᵀ.
    compression::GradientCodec c(spec);
    const auto m = c.lowrank_shape(shape);
    Tensor p = Tensor::zeros(cpu_device(), {m.rows, m.rank}), one = Tensor::empty(cpu_device(), {m.rows, m.rank});
    std::vector<Tensor> grads;
    for (int r = 0; r < ranks; ++r) {
      grads.push_back(gradient_of(r, shape, salt));
      compression::GradientCodec fresh(spec);
      fresh.lowrank_p(s, grads.back(), key, one);
      ops::axpy(s, 1.0f, one, p);
    }
    Tensor q = Tensor::zeros(cpu_device(), {m.cols, m.rank}), qr = Tensor::empty(cpu_device(), {m.cols, m.rank});
    for (int r = 0; r < ranks; ++r) {
      Tensor pr = Tensor::empty(cpu_device(), p.shape());
      ops::cast(s, p, pr);
      c.lowrank_q(s, grads[static_cast<size_t>(r)], pr, qr);
      ops::axpy(s, 1.0f, qr, q);
    }
    ops::orthonormalize(s, p);
    Tensor out = Tensor::empty(cpu_device(), {m.rows, m.cols});
    ops::gemm(s, p, q, out, {false, true, 1.0f / static_cast<float>(ranks), 0.0f});
    return out.to_f32();
  }
  for (int r = 0; r < ranks; ++r) {
    compression::GradientCodec c(spec);
    key.rank = static_cast<uint32_t>(r);
    const Tensor g = gradient_of(r, shape, salt);
    Tensor y = Tensor::empty(cpu_device(), shape);
    c.decompress(s, c.compress(s, g, key), y);
    const std::vector<float> v = y.to_f32();
    for (int64_t i = 0; i < n; ++i) sum[i] += v[i];
  }
  std::vector<float> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(sum[i] / ranks);
  return out;
}

TEST(GradientSync, EveryCodecGivesTheMeanOfWhatRanksSend) {
  auto comm = mpi_world();
  Stream s(cpu_device());
  const Shape shape{40, 75};
  for (const char* name : {"none", "fp16", "bf16", "int8", "qsgd:8", "terngrad", "sign", "randomk:0.1", "topk:0.05",
                           "topk_sampled:0.05", "powersgd:3"}) {
    const compression::CodecSpec spec = compression::parse_codec(name);
    GradientSync sync(comm, spec, false);
    const numeric::RandomKey key{11, 4, 0, 0};
    for (unsigned salt = 0; salt < 2; ++salt) {  // twice: PowerSGD's warm start must stay in step
      Tensor g = gradient_of(comm->rank(), shape, salt);
      sync.sync(s, g, 0, key);
      if (spec.codec == compression::Codec::powersgd && salt == 1) break;  // the serial model covers step one
      const std::vector<float> want = expected_mean(spec, comm->size(), shape, salt, key);
      // Half-precision sums round at each reduction step; the rest is exact up to f32 order.
      const double tol = spec.codec == compression::Codec::fp16   ? 2e-5
                         : spec.codec == compression::Codec::bf16 ? 2e-4
                                                                  : 1e-6;
      test::expect_close(g.to_f32(), want, tol, 1e-4, name);
    }
    EXPECT_GT(sync.bytes_sent(), 0u);
  }
}

// Non-blocking: several tensors in flight at once, each on its own communicator (their later
// rounds are posted in whatever order they progress), give what the blocking form gives.
TEST(GradientSync, NonBlockingEqualsBlocking) {
  auto comm = mpi_world();
  Stream s(cpu_device());
  const std::vector<Shape> shapes{{40, 75}, {300}, {16, 9}};
  for (const char* name : {"none", "bf16", "qsgd:8", "topk_sampled:0.05", "powersgd:2"}) {
    const compression::CodecSpec spec = compression::parse_codec(name);
    GradientSync blocking(comm, spec, true);
    std::vector<GradientSync> async;
    for (size_t k = 0; k < shapes.size(); ++k) async.emplace_back(comm->dup(), spec, true);
    for (unsigned step = 0; step < 2; ++step) {
      std::vector<Tensor> want, got;
      std::vector<SyncRequest> pending;
      for (size_t k = 0; k < shapes.size(); ++k) {
        const numeric::RandomKey key{5, step, 0, 1000 * k};
        want.push_back(gradient_of(comm->rank(), shapes[k], step + 3 * static_cast<unsigned>(k)));
        got.push_back(gradient_of(comm->rank(), shapes[k], step + 3 * static_cast<unsigned>(k)));
        blocking.sync(s, want.back(), k, key);
        pending.push_back(async[k].start(s, got.back(), 0, key));
      }
      for (bool all = false; !all;) {  // progress them backwards, then finish them in order
        all = true;
        for (size_t k = pending.size(); k-- > 0;) all = pending[k].test() && all;
      }
      for (SyncRequest& r : pending) r.wait();  // complete: no-ops
      for (size_t k = 0; k < shapes.size(); ++k)
        test::expect_close(got[k].to_f32(), want[k].to_f32(), spec.codec == compression::Codec::bf16 ? 2e-4 : 1e-6,
                           1e-4, std::string(name) + " tensor " + std::to_string(k));
    }
    uint64_t sent = 0;
    for (const GradientSync& a : async) sent += a.bytes_sent();
    EXPECT_EQ(sent, blocking.bytes_sent()) << name;
  }
}

// On a device whose memory the host cannot read (OpenCL here; CUDA with NCCL), payloads stay in
// device memory, are gathered there and decoded where they land: the same mean as the host path
// (the codec kernels are bit-identical), error feedback included.
TEST(GradientSync, DevicePayloadsEqualHostMessages) {
  Device cl;
  for (const Device& d : devices())
    if (!d.props().host_accessible && !d.props().modeled) cl = d;
  if (!cl) GTEST_SKIP() << "no device with its own memory (OpenCL, CUDA)";
  auto comm = mpi_world();
  Stream host(cpu_device()), dev(cl);
  const Shape shape{40, 75};
  for (const char* name : {"int8", "qsgd:8", "terngrad", "sign", "randomk:0.1", "topk:0.05", "topk_sampled:0.05"}) {
    const compression::CodecSpec spec = compression::parse_codec(name);
    GradientSync on_host(comm, spec, true), on_dev(comm, spec, true);
    for (unsigned step = 0; step < 2; ++step) {
      const numeric::RandomKey key{7, step, 0, 0};
      Tensor a = gradient_of(comm->rank(), shape, step);
      Tensor b = Tensor::empty(cl, shape);
      copy(a, b);
      on_host.sync(host, a, 0, key);
      on_dev.sync(dev, b, 0, key);
      test::expect_close(b.to_f32(), a.to_f32(), 1e-7, 1e-6, std::string(name) + " step " + std::to_string(step));
    }
    EXPECT_EQ(on_dev.bytes_sent(), on_host.bytes_sent() - 2 * compression::wire_header_bytes) << name;
  }
}

// Error feedback on each rank keeps what its own message dropped: over steps,
// Σ (own decoded) + residual = Σ own gradients.
TEST(GradientSync, ErrorFeedbackPerRank) {
  auto comm = mpi_world();
  Stream s(cpu_device());
  GradientSync sync(comm, compression::parse_codec("topk:0.02"), true);
  const Shape shape{500};
  std::vector<double> sum_g(500, 0.0), sum_mean(500, 0.0);
  for (unsigned step = 0; step < 10; ++step) {
    Tensor g = gradient_of(comm->rank(), shape, step);
    const std::vector<float> gv = g.to_f32();
    for (size_t i = 0; i < gv.size(); ++i) sum_g[i] += gv[i];
    sync.sync(s, g, 0, {1, step, 0, 0});
  }
  const std::vector<float> r = sync.feedback(0)->residual().to_f32();
  double norm_g = 0, norm_r = 0;
  for (size_t i = 0; i < r.size(); ++i) norm_g += sum_g[i] * sum_g[i], norm_r += double(r[i]) * r[i];
  EXPECT_GT(norm_r, 0.0);     // top-2% drops most of each gradient ...
  EXPECT_LT(norm_r, norm_g);  // ... but what is kept is sent eventually
}

}  // namespace
}  // namespace tandem::collectives
