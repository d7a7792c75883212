// What each kind of device is expected to refuse in the op suites. A refusal this table does not
// list fails the test — a backend that starts refusing an op is broken, not skipped — and so does
// a listed refusal that no longer happens (BackendOps), so the table stays exactly true.
//
// cpu: nothing. opencl, cuda: fused attention only (every other case ran on an H200,
// BENCHMARKS.md "CUDA and NCCL").
// (The cases of batchnorm_*, global_avgpool_*, avgpool2d_*, dropout_*, adam_update and of grouped
// and dilated convolutions were added later: their CUDA kernels compile here but have not yet run
// on a GPU.)
// fpga-xrt: not in the op suites (no card here; the driver's own tests are hls/xrt/tests/).
#include <string>
#include <string_view>
#include <vector>

#include "harness.h"

namespace tandem::test {
namespace {

struct ExpectedRefusal {
  DeviceKind kind;
  std::string_view op;       // the op's name
  std::string_view variant;  // a fragment of the case's name; empty: every case of the op
  std::string_view why;
};

constexpr std::string_view no_core = "no FPGA core for this op (hls/README.md lists the cores)";
constexpr std::string_view f32_core = "the FPGA core computes in f32 only";
constexpr std::string_view fused_cpu_only = "fused attention has a CPU kernel only (graph::fuse_attention fuses where it runs)";
constexpr std::string_view dense_conv = "the FPGA convolution cores take groups = 1 and dilation 1 only";

const std::vector<ExpectedRefusal>& table() {
  static const std::vector<ExpectedRefusal> t = {
      {DeviceKind::fpga_sim, "pack_bits", "", no_core},
      {DeviceKind::fpga_sim, "unpack_bits", "", no_core},
      {DeviceKind::fpga_sim, "sign_unpack", "", no_core},
      {DeviceKind::fpga_sim, "sample", "", no_core},
      {DeviceKind::fpga_sim, "kth_magnitude", "", no_core},
      {DeviceKind::fpga_sim, "random_fill", "", no_core},
      {DeviceKind::fpga_sim, "scatter_add", "", no_core},
      {DeviceKind::fpga_sim, "dequantize", "", no_core},
      {DeviceKind::fpga_sim, "chunk_norm2", "", no_core},
      {DeviceKind::fpga_sim, "chunk_absmean", "", no_core},
      {DeviceKind::fpga_sim, "orthonormalize", "", no_core},
      {DeviceKind::fpga_sim, "cast", "", no_core},
      {DeviceKind::fpga_sim, "conv2d_forward", "_groups", dense_conv},
      {DeviceKind::fpga_sim, "conv2d_forward", "_dilation", dense_conv},
      {DeviceKind::fpga_sim, "conv2d_backward_data", "_groups", dense_conv},
      {DeviceKind::fpga_sim, "conv2d_backward_data", "_dilation", dense_conv},
      {DeviceKind::fpga_sim, "conv2d_backward_weights", "_groups", dense_conv},
      {DeviceKind::fpga_sim, "conv2d_backward_weights", "_dilation", dense_conv},
      {DeviceKind::fpga_sim, "batchnorm_forward_train", "", no_core},
      {DeviceKind::fpga_sim, "batchnorm_forward_infer", "", no_core},
      {DeviceKind::fpga_sim, "batchnorm_backward", "", no_core},
      {DeviceKind::fpga_sim, "avgpool2d_forward", "", no_core},
      {DeviceKind::fpga_sim, "avgpool2d_backward", "", no_core},
      {DeviceKind::fpga_sim, "global_avgpool_forward", "", no_core},
      {DeviceKind::fpga_sim, "global_avgpool_backward", "", no_core},
      {DeviceKind::fpga_sim, "dropout_forward", "", no_core},
      {DeviceKind::fpga_sim, "dropout_backward", "", no_core},
      {DeviceKind::fpga_sim, "adam_update", "", no_core},
      // (Its fused core is bias + ReLU + max-pool, ops::bias_relu_maxpool2d; bias + ReLU alone has none.)
      {DeviceKind::fpga_sim, "bias_relu", "", no_core},
      {DeviceKind::fpga_sim, "add_relu", "", no_core},
      {DeviceKind::fpga_sim, "batchnorm_fold", "", no_core},
      // "f16" matches bf16 too: both are storage types the f32 cores do not read.
      {DeviceKind::fpga_sim, "gemm", "f16", f32_core},
      {DeviceKind::fpga_sim, "axpy", "f16", f32_core},
      {DeviceKind::fpga_sim, "add", "f16", f32_core},
      {DeviceKind::fpga_sim, "mul", "f16", f32_core},
      {DeviceKind::fpga_sim, "sub", "f16", f32_core},
      {DeviceKind::fpga_sim, "scale", "f16", f32_core},
      {DeviceKind::fpga_sim, "fill", "f16", f32_core},
      {DeviceKind::fpga_sim, "softmax_xent_forward", "_ignore", "the FPGA core has no ignore index"},
      {DeviceKind::fpga_sim, "softmax_xent_backward", "_ignore", "the FPGA core has no ignore index"},
      // Fused attention: a CPU kernel so far; elsewhere the graph keeps attention written out.
      {DeviceKind::opencl, "attention_forward", "", fused_cpu_only},
      {DeviceKind::opencl, "attention_backward", "", fused_cpu_only},
      {DeviceKind::cuda, "attention_forward", "", fused_cpu_only},
      {DeviceKind::cuda, "attention_backward", "", fused_cpu_only},
      {DeviceKind::fpga_sim, "attention_forward", "", no_core},
      {DeviceKind::fpga_sim, "attention_backward", "", no_core},
      // The transformer ops (issue 25): batched products run on the MAC engine
      // (tandem_gemm_batched); softmax, layer norm and the rest have no cores yet.
      {DeviceKind::fpga_sim, "softmax_forward", "", no_core},
      {DeviceKind::fpga_sim, "masked_softmax_forward", "", no_core},
      {DeviceKind::fpga_sim, "softmax_backward", "", no_core},
      {DeviceKind::fpga_sim, "layernorm_forward", "", no_core},
      {DeviceKind::fpga_sim, "layernorm_backward", "", no_core},
      {DeviceKind::fpga_sim, "activation_forward", "", no_core},
      {DeviceKind::fpga_sim, "activation_backward", "", no_core},
      {DeviceKind::fpga_sim, "embedding_forward", "", no_core},
      {DeviceKind::fpga_sim, "embedding_backward", "", no_core},
      {DeviceKind::fpga_sim, "permute", "", no_core},
      {DeviceKind::fpga_sim, "copy_region", "", no_core},
      {DeviceKind::fpga_sim, "broadcast_binary", "", no_core},
      {DeviceKind::fpga_sim, "sum_to", "", no_core},
  };
  return t;
}

}  // namespace

std::optional<std::string> expected_refusal(const Device& d, const OpDesc& op, std::string_view case_name) {
  for (const ExpectedRefusal& r : table())
    if (r.kind == d.kind() && r.op == op.name &&
        (r.variant.empty() || case_name.find(r.variant) != std::string_view::npos))
      return std::string(r.why);
  return std::nullopt;
}

std::string unexpected_refusal(const Device& d, const OpDesc& op, const std::string& refusal) {
  return d.id() + " refused " + std::string(op.name) + " (" + refusal +
         "), which tests/ops/expected_support.cpp does not expect of a " + std::string(device_kind_name(d.kind())) +
         " device: a kernel is missing or broken (list it there only if the device never had it)";
}

}  // namespace tandem::test
