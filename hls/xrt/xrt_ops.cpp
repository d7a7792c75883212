// The ops the fpga-xrt device runs, each mapped onto the arguments of its HLS core (cores.h:
// argument order = kernel argument index). The static_asserts tie each mapping to the core's
// declared signature, so a change in cores.h that this file does not follow fails to compile.
// Cores without a matching single op (tandem_bias_relu_pool, a fused layer) are not registered.
#include <cores.h>

#include <climits>
#include <type_traits>

#include "tandem/ops.h"
#include "xrt_device.h"

namespace tandem::fpga {
namespace {

}  // namespace

std::vector<XrtKernel>& xrt_kernels() {
  static std::vector<XrtKernel> list;
  return list;
}

namespace {

XrtCard& card(const OpCall& c) { return static_cast<XrtDevice&>(c.device).card(); }

KernelArg in(const Tensor& t) {
  return KernelArg::buffer(XrtDevice::bo(t.buffer().memory()), t.offset(), t.nbytes(), false);
}
KernelArg out(const Tensor& t) {
  return KernelArg::buffer(XrtDevice::bo(t.buffer().memory()), t.offset(), t.nbytes(), true);
}
template <class T>
KernelArg scalar(T v) {
  return KernelArg::scalar(v);
}

// The cores take element counts and dimensions as int.
int as_int(const OpCall& c, int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX)
    c.unsupported(std::string(what) + " = " + std::to_string(v) + " exceeds the core's int range");
  return static_cast<int>(v);
}

void launch(const OpCall& c, const char* kernel, std::initializer_list<KernelArg> args) {
  card(c).start(kernel, std::span<const KernelArg>(args.begin(), args.size()));
}

const char* f32_only(const OpCall& c) {
  for (const Tensor* t : c.in)
    if (t->dtype() != DType::f32) return "the FPGA cores compute in f32 only";
  for (const Tensor* t : c.out)
    if (t->dtype() != DType::f32) return "the FPGA cores compute in f32 only";
  return nullptr;
}

static_assert(std::is_same_v<decltype(&tandem_gemm),
                             void (*)(const float*, const float*, float*, int, int, int, int, int, float, float)>);
void gemm(const OpCall& c) {
  const Tensor &a = *c.in[0], &b = *c.in[1], &y = *c.out[0];
  const auto& p = c.param<GemmParams>();
  const int m = as_int(c, y.shape()[0], "m"), n = as_int(c, y.shape()[1], "n");
  const int k = as_int(c, p.trans_a ? a.shape()[0] : a.shape()[1], "k");
  // c is read as well as written when beta ≠ 0; it is an in-out buffer either way.
  launch(c, "tandem_gemm",
         {in(a), in(b), out(y), scalar(m), scalar(n), scalar(k), scalar(int{p.trans_a}), scalar(int{p.trans_b}),
          scalar(p.alpha), scalar(p.beta)});
}
TANDEM_XRT_KERNEL(gemm, "tandem_gemm", gemm, f32_only);

static_assert(std::is_same_v<decltype(&tandem_conv2d), void (*)(const float*, const float*, float*, int, int, int, int,
                                                                int, int, int, int, int, int, int)>);
void conv2d_forward(const OpCall& c) {
  const Tensor &x = *c.in[0], &w = *c.in[1], &y = *c.out[0];
  const auto& p = c.param<Conv2dParams>();
  const auto d = [&](const Tensor& t, int i, const char* what) { return scalar(as_int(c, t.shape()[i], what)); };
  launch(c, "tandem_conv2d",
         {in(x), in(w), out(y), d(x, 0, "n"), d(x, 1, "c"), d(x, 2, "h"), d(x, 3, "w"), d(w, 0, "k"), d(w, 2, "r"),
          d(w, 3, "s"), scalar(p.stride_h), scalar(p.stride_w), scalar(p.pad_h), scalar(p.pad_w)});
}
TANDEM_XRT_KERNEL(conv2d_forward, "tandem_conv2d", conv2d_forward);

static_assert(std::is_same_v<decltype(&tandem_absmax), void (*)(const float*, float*, int, int)>);
void chunk_absmax(const OpCall& c) {
  const Tensor &x = *c.in[0], &scales = *c.out[0];
  launch(c, "tandem_absmax",
         {in(x), out(scales), scalar(as_int(c, x.numel(), "n")),
          scalar(as_int(c, c.param<ChunkParams>().chunk, "chunk"))});
}
TANDEM_XRT_KERNEL(chunk_absmax, "tandem_absmax", chunk_absmax);

static_assert(std::is_same_v<decltype(&tandem_quantize), void (*)(const float*, float*, int8_t*, int, int, int, int,
                                                                  int, uint64_t, uint32_t, uint32_t, uint64_t)>);
void quantize(const OpCall& c) {
  const Tensor &x = *c.in[0], &unit = *c.out[0], &q = *c.out[1];
  const auto& p = c.param<QuantizeParams>();
  launch(c, "tandem_quantize",
         {in(x), out(unit), out(q), scalar(as_int(c, x.numel(), "n")), scalar(as_int(c, p.chunk, "chunk")),
          scalar(p.levels), scalar(int{p.scale == QuantScale::norm2}), scalar(int{p.stochastic}), scalar(p.key.seed),
          scalar(p.key.step), scalar(p.key.rank), scalar(p.key.offset)});
}
TANDEM_XRT_KERNEL(quantize, "tandem_quantize", quantize);

static_assert(std::is_same_v<decltype(&tandem_sign_pack), void (*)(const float*, float*, uint8_t*, int, int)>);
void sign_pack(const OpCall& c) {
  const Tensor &x = *c.in[0], &unit = *c.out[0], &bits = *c.out[1];
  launch(c, "tandem_sign_pack",
         {in(x), out(unit), out(bits), scalar(as_int(c, x.numel(), "n")),
          scalar(as_int(c, c.param<ChunkParams>().chunk, "chunk"))});
}
TANDEM_XRT_KERNEL(sign_pack, "tandem_sign_pack", sign_pack);

static_assert(std::is_same_v<decltype(&tandem_compact),
                             void (*)(const float*, float, int32_t*, float*, int32_t*, int, int, int64_t)>);
void compact(const OpCall& c) {
  const Tensor &x = *c.in[0], &t = *c.in[1], &idx = *c.out[0], &val = *c.out[1], &count = *c.out[2];
  // The core takes the threshold as a register value; the op has it in device memory (it is
  // usually kth_magnitude's output), so it is read back first: one 4-byte transfer.
  float threshold = 0;
  card(c).read(&threshold, XrtDevice::bo(t.buffer().memory()), t.offset(), sizeof(float));
  launch(c, "tandem_compact",
         {in(x), scalar(threshold), out(idx), out(val), out(count), scalar(as_int(c, x.numel(), "n")),
          scalar(as_int(c, idx.numel(), "capacity")), scalar(c.param<CompactParams>().limit)});
}
TANDEM_XRT_KERNEL(compact, "tandem_compact", compact);

static_assert(std::is_same_v<decltype(&tandem_accumulate), void (*)(const float*, float*, float, int, int)>);
void axpy(const OpCall& c) {
  const Tensor &x = *c.in[0], &y = *c.out[0];
  launch(c, "tandem_accumulate",
         {in(x), out(y), scalar(c.param<ScaleParams>().alpha), scalar(as_int(c, x.numel(), "n")), scalar(0)});
}
TANDEM_XRT_KERNEL(axpy, "tandem_accumulate", axpy, f32_only);

}  // namespace

void register_xrt_kernels(XrtDevice& d) {
  for (const XrtKernel& k : xrt_kernels())
    if (d.card().has_kernel(k.core)) d.register_kernel(*k.op, k.kernel);
}

}  // namespace tandem::fpga
