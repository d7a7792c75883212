// Prints what the performance model predicts (every figure modeled): the cores on the CNN's
// layers for each card, and the model's error against a published measurement it was not fitted
// to — Vitis Libraries' BLAS L3 GEMM on an Alveo U250 (PLATFORM.md). Output: markdown tables.
//   fpga_model_report
#include <cstdio>

#include "perf_model.h"

using namespace tandem::fpga;

namespace {

void cnn_layers() {
  std::printf("| card | core (CNN layer, batch 64) | modeled ms | modeled GFLOP/s | bound | DSP | BRAM36 |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const std::string& key : card_keys()) {
    const CardProfile& c = card(key);
    const auto row = [&](const char* what, const CoreEstimate& e) {
      std::printf("| %s | %s | %.3f | %.2f | %s | %d | %d |\n", key.c_str(), what, e.seconds * 1e3,
                  e.flops / e.seconds / 1e9, e.bound.c_str(), e.resources.dsp, e.resources.bram36);
    };
    row("conv1 5×5, 1→16, 28×28", conv2d(c, 64, 1, 28, 28, 16, 5, 5, 1, 1, 2, 2));
    row("bias+ReLU+pool after conv1", bias_relu_pool(c, 64, 16, 28, 28, 2, 2));
    row("conv2 5×5, 16→32, 14×14", conv2d(c, 64, 16, 14, 14, 32, 5, 5, 1, 1, 2, 2));
    row("fc 1568→10", gemm(c, 64, 10, 1568));
    row("quantize int8, 25M floats", quantize(c, 25'000'000, 256, false));
    row("sign pack, 25M floats", sign_pack(c, 25'000'000, 256));
    row("accumulate, 25M floats", accumulate(c, 25'000'000));
  }
}

// The Vitis BLAS L3 GEMM benchmark: 250 MHz, fp32, a multiply kernel of 768 DSPs, times that
// include the host copies. Our equations applied to that design: 768 / 5 DSPs per multiply-add
// MACs per cycle at II = 1, A and B in and C out over PCIe, one launch.
void vitis_blas_gemm() {
  const CardProfile& c = card("u250");
  const double clock = 250e6, macs = 768.0 / 5.0;
  struct Row {
    int n;
    double ms;
  };
  std::printf("\n| M=N=K | published ms | modeled ms | error |\n|---|---|---|---|\n");
  for (const Row r : {Row{256, 1.37}, Row{512, 4.52}, Row{1024, 29.5}, Row{2048, 217.6}, Row{4096, 1685.3}}) {
    const double n = r.n;
    const double compute = n * n * n / macs / clock, copies = transfer_seconds(c, 3.0 * 4.0 * n * n);
    const double model_ms = (compute + copies + c.launch_s) * 1e3;
    std::printf("| %d | %.2f | %.2f | %+.0f%% |\n", r.n, r.ms, model_ms, 100.0 * (model_ms - r.ms) / r.ms);
  }
}

}  // namespace

int main() {
  cnn_layers();
  vitis_blas_gemm();
  return 0;
}
