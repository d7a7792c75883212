#include "fpga_sim.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "../model/perf_model.h"
#include "cores.h"
#include "tandem/error.h"
#include "tandem/ops.h"

namespace tandem::fpga {
namespace {

DeviceProps sim_props(const CardProfile& c) {
  const TileConfig t = TileConfig::built();
  DeviceProps p;
  p.name = c.name + " (fpga-sim: C simulation, modeled timing)";
  p.memory_bytes = c.memory_bytes;
  p.peak_flops_f32 = 2.0 * t.tn * c.clock_hz;  // the MAC engine's adders, one each per cycle
  p.mem_bandwidth = c.banks * c.bank_bw;
  p.compute_units = 1;
  p.driver = "C simulation of hls/cores, model " + c.key;
  p.host_accessible = false;  // behind PCIe on a card: data moves by copies, which are timed
  p.modeled = true;
  return p;
}

class SimDevice;

// The simulated cores' kernels, one TANDEM_KERNEL line beside each.
KernelList& sim_kernels() {
  static KernelList list;
  return list;
}

// Adds the host time of a scope to the device's simulation time.
class HostTimer {
 public:
  explicit HostTimer(SimDevice& d) : device_(d), start_(std::chrono::steady_clock::now()) {}
  ~HostTimer();

 private:
  SimDevice& device_;
  std::chrono::steady_clock::time_point start_;
};

class SimDevice final : public DeviceImpl {
 public:
  SimDevice(int index, const CardProfile& card)
      : DeviceImpl(DeviceKind::fpga_sim, index, sim_props(card)), card_(card) {
    register_kernels(sim_kernels());
  }
  const CardProfile& card() const { return card_; }
  void charge(double seconds) { modeled_ += seconds; }
  double modeled_seconds() const override { return modeled_; }
  void simulated(double host_seconds) { simulation_ += host_seconds; }
  double simulation_seconds() const override { return simulation_; }

  // The card's memory, simulated in host memory.
  std::unique_ptr<DeviceBuffer> allocate(size_t bytes) override { return host_buffer(bytes, id()); }
  void memset(const DeviceBuffer& dst, size_t offset, int value, size_t bytes) override {
    const HostTimer timer(*this);
    std::memset(dst.at(offset), value, bytes);
    charge(static_cast<double>(bytes) / props().mem_bandwidth);
  }
  void copy_from_host(const DeviceBuffer& dst, size_t offset, const void* src, size_t bytes) override {
    const HostTimer timer(*this);
    std::memmove(dst.at(offset), src, bytes);
    charge(transfer_seconds(card_, static_cast<double>(bytes)));
  }
  void copy_to_host(void* dst, const DeviceBuffer& src, size_t offset, size_t bytes) override {
    const HostTimer timer(*this);
    std::memmove(dst, src.at(offset), bytes);
    charge(transfer_seconds(card_, static_cast<double>(bytes)));
  }
  void copy_on_device(const DeviceBuffer& dst, size_t dst_offset, const DeviceBuffer& src, size_t src_offset,
                      size_t bytes) override {
    const HostTimer timer(*this);
    std::memmove(dst.at(dst_offset), src.at(src_offset), bytes);
    charge(2.0 * static_cast<double>(bytes) / props().mem_bandwidth);
  }
  std::shared_ptr<StreamImpl> create_stream() override { return make_inline_stream(); }

 private:
  const CardProfile& card_;
  std::atomic<double> modeled_{0.0}, simulation_{0.0};
};

HostTimer::~HostTimer() {
  device_.simulated(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
}

SimDevice& sim(const OpCall& c) { return static_cast<SimDevice&>(c.device); }

// A kernel whose host time counts as simulation.
template <KernelFn F>
void timed(const OpCall& c) {
  const HostTimer timer(sim(c));
  F(c);
}
template <class T>
T* ptr(const Tensor* t) {
  return static_cast<T*>(t->data());
}

const char* only_f32(const OpCall& c) {
  for (const Tensor* t : c.in)
    if (t->dtype() != DType::f32) return "the core computes in f32 only";
  return nullptr;
}

void gemm(const OpCall& c) {
  const auto& p = c.param<GemmParams>();
  const Tensor &a = *c.in[0], &b = *c.in[1], &out = *c.out[0];
  const int64_t m = out.shape()[0], n = out.shape()[1], k = p.trans_a ? a.shape()[0] : a.shape()[1];
  (void)b;
  tandem_gemm(ptr<const float>(&a), ptr<const float>(c.in[1]), ptr<float>(&out), c.count32(m, "m"), c.count32(n, "n"),
              c.count32(k, "k"), p.trans_a, p.trans_b, p.alpha, p.beta);
  sim(c).charge(fpga::gemm(sim(c).card(), m, n, k).seconds);
}
TANDEM_KERNEL(sim_kernels, gemm, timed<gemm>, only_f32);

void conv2d_forward(const OpCall& c) {
  const auto& p = c.param<Conv2dParams>();
  const Shape &x = c.in[0]->shape(), &w = c.in[1]->shape();
  tandem_conv2d(ptr<const float>(c.in[0]), ptr<const float>(c.in[1]), ptr<float>(c.out[0]), c.count32(x[0], "batch"),
                c.count32(x[1], "channels"), c.count32(x[2], "height"), c.count32(x[3], "width"),
                c.count32(w[0], "filters"), c.count32(w[2], "kernel"), c.count32(w[3], "kernel"), p.stride_h,
                p.stride_w, p.pad_h, p.pad_w);
  sim(c).charge(
      fpga::conv2d(sim(c).card(), x[0], x[1], x[2], x[3], w[0], w[2], w[3], p.stride_h, p.stride_w, p.pad_h, p.pad_w)
          .seconds);
}
TANDEM_KERNEL(sim_kernels, conv2d_forward, timed<conv2d_forward>);

void chunk_absmax(const OpCall& c) {
  const int64_t n = c.in[0]->numel(), chunk = c.param<ChunkParams>().chunk;
  tandem_absmax(ptr<const float>(c.in[0]), ptr<float>(c.out[0]), c.count32(n, "n"), c.count32(chunk, "chunk"));
  sim(c).charge(fpga::absmax(sim(c).card(), n, chunk).seconds);
}
TANDEM_KERNEL(sim_kernels, chunk_absmax, timed<chunk_absmax>);

void quantize(const OpCall& c) {
  const auto& p = c.param<QuantizeParams>();
  const int64_t n = c.in[0]->numel();
  tandem_quantize(ptr<const float>(c.in[0]), ptr<float>(c.out[0]), ptr<int8_t>(c.out[1]), c.count32(n, "n"),
                  c.count32(p.chunk, "chunk"), p.levels, p.scale == QuantScale::norm2, p.stochastic, p.key.seed,
                  p.key.step, p.key.rank, p.key.offset);
  sim(c).charge(fpga::quantize(sim(c).card(), n, p.chunk, p.scale == QuantScale::norm2).seconds);
}
TANDEM_KERNEL(sim_kernels, quantize, timed<quantize>);

void sign_pack(const OpCall& c) {
  const int64_t n = c.in[0]->numel(), chunk = c.param<ChunkParams>().chunk;
  tandem_sign_pack(ptr<const float>(c.in[0]), ptr<float>(c.out[0]), ptr<uint8_t>(c.out[1]), c.count32(n, "n"),
                   c.count32(chunk, "chunk"));
  sim(c).charge(fpga::sign_pack(sim(c).card(), n, chunk).seconds);
}
TANDEM_KERNEL(sim_kernels, sign_pack, timed<sign_pack>);

void compact(const OpCall& c) {
  const int64_t n = c.in[0]->numel(), capacity = c.out[0]->numel();
  int32_t* idx = ptr<int32_t>(c.out[0]);
  int32_t* count = ptr<int32_t>(c.out[2]);
  tandem_compact(ptr<const float>(c.in[0]), *ptr<const float>(c.in[1]), idx, ptr<float>(c.out[1]), count,
                 c.count32(n, "n"), c.count32(capacity, "capacity"), c.param<CompactParams>().limit);
  // The selection pass stops once the output is full: right after the capacity-th selection.
  const int64_t scanned = *count > capacity && capacity > 0 ? idx[capacity - 1] + 1 : (capacity > 0 ? n : 0);
  sim(c).charge(fpga::compact(sim(c).card(), n, scanned).seconds);
}
TANDEM_KERNEL(sim_kernels, compact, timed<compact>);

// axpy: y += alpha·x, the accumulate core without `start`.
void axpy(const OpCall& c) {
  const int64_t n = c.in[0]->numel();
  tandem_accumulate(ptr<const float>(c.in[0]), ptr<float>(c.out[0]), c.param<ScaleParams>().alpha, c.count32(n, "n"),
                    0);
  sim(c).charge(fpga::accumulate(sim(c).card(), n).seconds);
}

const char* axpy_unsupported(const OpCall& c) {
  return c.out[0]->dtype() != DType::f32 ? "the accumulate core computes in f32 only" : only_f32(c);
}
TANDEM_KERNEL(sim_kernels, axpy, timed<axpy>, axpy_unsupported);

// All operands f32 (inputs and outputs).
const char* all_f32(const OpCall& c) {
  for (const Tensor* t : c.out)
    if (t->dtype() != DType::f32) return "the core computes in f32 only";
  return only_f32(c);
}

template <int Op, int Reads>
void vector_op(const OpCall& c) {
  const int64_t n = c.out[0]->numel();
  const float* a = c.in.size() > 0 ? ptr<const float>(c.in[0]) : nullptr;
  const float* b = c.in.size() > 1 ? ptr<const float>(c.in[1]) : nullptr;
  const float alpha = Op == 0 ? c.param<FillParams>().value : Op == 1 ? c.param<ScaleParams>().alpha : 0.0f;
  tandem_vector(Op, a, b, ptr<float>(c.out[0]), alpha, c.count32(n, "n"));
  sim(c).charge(fpga::vector(sim(c).card(), n, Reads).seconds);
}

TANDEM_KERNEL(sim_kernels, fill, timed<vector_op<0, 0>>, all_f32);
TANDEM_KERNEL(sim_kernels, scale, timed<vector_op<1, 1>>, all_f32);
TANDEM_KERNEL(sim_kernels, add, timed<vector_op<2, 2>>, all_f32);
TANDEM_KERNEL(sim_kernels, mul, timed<vector_op<3, 2>>, all_f32);
TANDEM_KERNEL(sim_kernels, relu_forward, timed<vector_op<4, 1>>);
TANDEM_KERNEL(sim_kernels, relu_backward, timed<vector_op<5, 2>>);

// An activation as [n][channels][inner] (the channel is dimension 1).
std::array<int64_t, 3> planes_of(const Tensor& t) {
  const Shape& s = t.shape();
  return {s[0], s[1], s.numel() / std::max<int64_t>(1, s[0] * s[1])};
}

void bias_add(const OpCall& c) {
  const auto [n, ch, inner] = planes_of(*c.out[0]);
  tandem_bias(ptr<const float>(c.in[0]), ptr<float>(c.out[0]), c.count32(n, "n"), c.count32(ch, "c"),
              c.count32(inner, "inner"), 0);
  sim(c).charge(fpga::bias(sim(c).card(), n, ch, inner, false).seconds);
}
TANDEM_KERNEL(sim_kernels, bias_add, timed<bias_add>);

void bias_backward(const OpCall& c) {
  const auto [n, ch, inner] = planes_of(*c.in[0]);
  tandem_bias(ptr<const float>(c.in[0]), ptr<float>(c.out[0]), c.count32(n, "n"), c.count32(ch, "c"),
              c.count32(inner, "inner"), 1);
  sim(c).charge(fpga::bias(sim(c).card(), n, ch, inner, true).seconds);
}
TANDEM_KERNEL(sim_kernels, bias_backward, timed<bias_backward>);

void maxpool2d_forward(const OpCall& c) {
  const auto& p = c.param<Pool2dParams>();
  const Shape& x = c.in[0]->shape();
  tandem_maxpool(ptr<const float>(c.in[0]), ptr<float>(c.out[0]), ptr<int32_t>(c.out[1]),
                 c.count32(x[0] * x[1], "planes"), c.count32(x[2], "h"), c.count32(x[3], "w"), p.kernel, p.stride);
  sim(c).charge(fpga::maxpool(sim(c).card(), x[0] * x[1], x[2], x[3], p.kernel, p.stride).seconds);
}
TANDEM_KERNEL(sim_kernels, maxpool2d_forward, timed<maxpool2d_forward>);

void maxpool2d_backward(const OpCall& c) {
  const Shape &dy = c.in[0]->shape(), &dx = c.out[0]->shape();
  const int64_t planes = dy[0] * dy[1], outputs = dy[2] * dy[3], inputs = dx[2] * dx[3];
  // Indices come from outside the op (as on the CPU, checked before anything is written; the
  // driver reads them, since a core would scatter out of bounds).
  const int32_t* idx = ptr<const int32_t>(c.in[1]);
  check_indices(c, pool_index_range(c), idx, c.in[1]->numel());
  tandem_maxpool_backward(ptr<const float>(c.in[0]), idx, ptr<float>(c.out[0]), c.count32(planes, "planes"),
                          c.count32(outputs, "outputs"), c.count32(inputs, "inputs"));
  sim(c).charge(fpga::maxpool_backward(sim(c).card(), planes, outputs, inputs).seconds);
}
TANDEM_KERNEL(sim_kernels, maxpool2d_backward, timed<maxpool2d_backward>);

void softmax_xent_forward(const OpCall& c) {
  const int64_t n = c.in[0]->shape()[0], k = c.in[0]->shape()[1];
  check_indices(c, label_range(c), ptr<const int32_t>(c.in[1]), c.in[1]->numel());
  tandem_softmax_xent(ptr<const float>(c.in[0]), ptr<const int32_t>(c.in[1]), ptr<float>(c.out[0]),
                      ptr<float>(c.out[1]), c.count32(n, "n"), c.count32(k, "classes"));
  sim(c).charge(fpga::softmax_xent(sim(c).card(), n, k).seconds);
}
TANDEM_KERNEL(sim_kernels, softmax_xent_forward, timed<softmax_xent_forward>);

void softmax_xent_backward(const OpCall& c) {
  const int64_t n = c.in[0]->shape()[0], k = c.in[0]->shape()[1];
  check_indices(c, label_range(c), ptr<const int32_t>(c.in[1]), c.in[1]->numel());
  tandem_softmax_xent_backward(ptr<const float>(c.in[0]), ptr<const int32_t>(c.in[1]), ptr<float>(c.out[0]),
                               c.param<ScaleParams>().alpha, c.count32(n, "n"), c.count32(k, "classes"));
  sim(c).charge(fpga::softmax_xent_backward(sim(c).card(), n, k).seconds);
}
TANDEM_KERNEL(sim_kernels, softmax_xent_backward, timed<softmax_xent_backward>);

// conv2d_backward_data: dy, w → dx; conv2d_backward_weights: x, dy → dw.
void conv2d_backward_data(const OpCall& c) {
  const auto& p = c.param<Conv2dParams>();
  const Shape &x = c.out[0]->shape(), &w = c.in[1]->shape();
  tandem_conv2d_backward_data(ptr<const float>(c.in[0]), ptr<const float>(c.in[1]), ptr<float>(c.out[0]),
                              c.count32(x[0], "batch"), c.count32(x[1], "channels"), c.count32(x[2], "height"),
                              c.count32(x[3], "width"), c.count32(w[0], "filters"), c.count32(w[2], "kernel"),
                              c.count32(w[3], "kernel"), p.stride_h, p.stride_w, p.pad_h, p.pad_w);
  sim(c).charge(fpga::conv2d_backward_data(sim(c).card(), x[0], x[1], x[2], x[3], w[0], w[2], w[3], p.stride_h,
                                           p.stride_w, p.pad_h, p.pad_w)
                    .seconds);
}
TANDEM_KERNEL(sim_kernels, conv2d_backward_data, timed<conv2d_backward_data>);

void conv2d_backward_weights(const OpCall& c) {
  const auto& p = c.param<Conv2dParams>();
  const Shape &x = c.in[0]->shape(), &w = c.out[0]->shape();
  tandem_conv2d_backward_weights(ptr<const float>(c.in[0]), ptr<const float>(c.in[1]), ptr<float>(c.out[0]),
                                 c.count32(x[0], "batch"), c.count32(x[1], "channels"), c.count32(x[2], "height"),
                                 c.count32(x[3], "width"), c.count32(w[0], "filters"), c.count32(w[2], "kernel"),
                                 c.count32(w[3], "kernel"), p.stride_h, p.stride_w, p.pad_h, p.pad_w);
  sim(c).charge(fpga::conv2d_backward_weights(sim(c).card(), x[0], x[1], x[2], x[3], w[0], w[2], w[3], p.stride_h,
                                              p.stride_w, p.pad_h, p.pad_w)
                    .seconds);
}
TANDEM_KERNEL(sim_kernels, conv2d_backward_weights, timed<conv2d_backward_weights>);


class SimBackend final : public Backend {
 public:
  explicit SimBackend(const std::vector<std::string>& cards) {
    for (const std::string& k : cards)
      devices_.push_back(std::make_unique<SimDevice>(static_cast<int>(devices_.size()), card(k)));
  }
  std::string name() const override { return "fpga-sim"; }
  std::string version() const override { return "C simulation of the HLS cores; timing modeled (hls/model)"; }
  std::vector<DeviceImpl*> devices() override {
    std::vector<DeviceImpl*> out;
    for (auto& d : devices_) out.push_back(d.get());
    return out;
  }

 private:
  std::vector<std::unique_ptr<SimDevice>> devices_;
};

}  // namespace

std::vector<std::string> sim_cards(const std::string& spec) {
  if (spec == "none") return {};
  std::vector<std::string> out;
  const std::string list = spec.empty() ? "u250" : spec;
  for (size_t at = 0;;) {
    const size_t comma = list.find(',', at);
    const std::string k = list.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (k.empty()) throw Error(ErrorKind::invalid_argument, "", "TANDEM_FPGA_SIM", "empty card name in '" + spec + "'");
    card(k);  // throws naming the known cards
    out.push_back(k);
    if (comma == std::string::npos) return out;
    at = comma + 1;
  }
}

std::unique_ptr<Backend> make_sim_backend() {
  const char* spec = std::getenv("TANDEM_FPGA_SIM");
  return std::make_unique<SimBackend>(sim_cards(spec ? spec : ""));
}

}  // namespace tandem::fpga
