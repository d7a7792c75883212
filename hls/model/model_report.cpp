// Prints what the performance model predicts (every figure modeled): the cores on the CNN's
// layers for each card, and the model's error against a published measurement it was not fitted
// to — Vitis Libraries' BLAS L3 GEMM on an Alveo U250 (PLATFORM.md). Output: markdown tables.
//   fpga_model_report
#include <algorithm>
#include <cstdio>

#include "perf_model.h"

using namespace tandem::fpga;

namespace {

// The roofline time of a core's work on a card: the larger of its FLOPs at the DSP peak of one
// SLR (multiply-adders of 5 DSPs at the clock) and its bytes at the card's memory bandwidth.
struct Roof {
  double seconds;
  const char* by;
};
Roof roofline(const CardProfile& c, const CoreEstimate& e) {
  const double dsp = e.flops / (2.0 * (c.dsp_per_slr / 5) * c.clock_hz), mem = e.bytes / (c.banks * c.bank_bw);
  return dsp >= mem ? Roof{dsp, "DSP"} : Roof{mem, "bandwidth"};
}

void cnn_layers() {
  std::printf(
      "| card | core (the CNN's shapes, batch 64) | modeled ms | roofline ms | share of roofline | roof | "
      "modeled GFLOP/s | modeled GB/s | DSP | BRAM36 |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (const std::string& key : card_keys()) {
    const CardProfile& c = card(key);
    const auto row = [&](const char* what, const CoreEstimate& e) {
      const Roof r = roofline(c, e);
      std::printf("| %s | %s | %.3f | %.3f | %.1f%% | %s | %.2f | %.2f | %d | %d |\n", key.c_str(), what,
                  e.seconds * 1e3, r.seconds * 1e3, 100.0 * r.seconds / e.seconds, r.by, e.flops / e.seconds / 1e9,
                  e.bytes / e.seconds / 1e9, e.resources.dsp, e.resources.bram36);
    };
    row("conv1 3×3, 1→16, 28×28", conv2d(c, 64, 1, 28, 28, 16, 3, 3, 1, 1, 1, 1));
    row("bias+ReLU+pool after conv1", bias_relu_pool(c, 64, 16, 28, 28, 2, 2));
    row("conv2 3×3, 16→32, 14×14", conv2d(c, 64, 16, 14, 14, 32, 3, 3, 1, 1, 1, 1));
    row("fc1 1568→128", gemm(c, 64, 128, 1568));
    row("gemm 1024³", gemm(c, 1024, 1024, 1024));
    row("abs-max, 25M floats", absmax(c, 25'000'000, 256));
    row("quantize int8, 25M floats", quantize(c, 25'000'000, 256, false));
    row("sign pack, 25M floats", sign_pack(c, 25'000'000, 256));
    row("compact, 25M floats", compact(c, 25'000'000, 25'000'000));
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
