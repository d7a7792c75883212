// The FPGA performance model: what the HLS cores would take on a card, from their loop structure.
// Every figure it produces is *modeled*, never measured, and is labeled so wherever it appears.
//
// Equations (Vitis HLS scheduling, UG1399; memory figures from UG1393 — see PLATFORM.md):
//   loop latency   L = depth + II · (trips − 1)            cycles, for a pipelined loop
//   memory floor   M = bytes / min(port width · f, bank bandwidth)   seconds, per m_axi port
//   loop time      max(L / f, M)     (a loop cannot finish faster than its port moves its data)
//   core time      launch + Σ loop times   (the cores' loops run one after another; the
//                  convolution's im2col and B-tile fill form one DATAFLOW region: the slower of
//                  the two plus the FIFO's fill)
//   transfers      bytes / PCIe bandwidth (host ↔ card), charged by the device for copies
// with f the kernel clock. Trip counts come from the same tiling as the sources (core_config.h)
// and are checked against the counts C simulation observes (tests/hls/test_perf_model.cpp).
//
// Resources: a single-precision multiply-add takes 5 DSP48E2 (3 for the multiplier, 2 for the
// adder; Vitis HLS operator defaults on UltraScale+), double-precision add 3; on-chip buffers
// take ⌈bits / 36 Kib⌉ BRAM36 per partition; LUTs are a coarse per-operator estimate. A core
// configuration must fit one SLR (a kernel is placed in one), else it is rejected.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tandem::fpga {

/// A card as the model sees it. Sources are cited in perf_model.cpp.
struct CardProfile {
  std::string key;   ///< "u250"
  std::string name;  ///< "AMD Alveo U250"
  std::string shell;
  double clock_hz = 0;      ///< kernel clock the cores are built for
  int slrs = 0;             ///< super logic regions (a kernel lives in one)
  int dsp_per_slr = 0;      ///< available to kernels after the shell
  int bram36_per_slr = 0;   ///< 36 Kib block RAMs
  int uram_per_slr = 0;     ///< 288 Kib UltraRAMs
  int64_t lut_per_slr = 0;  ///< 6-input LUTs
  std::string memory;       ///< "DDR4", "HBM2"
  int banks = 0;            ///< DDR channels or HBM pseudo-channels
  double bank_bw = 0;       ///< bytes/s per bank (theoretical)
  uint64_t memory_bytes = 0;
  double pcie_bw = 0;   ///< bytes/s host ↔ card (theoretical, per direction)
  double launch_s = 0;  ///< per kernel launch through XRT
  int port_bytes = 64;  ///< widest m_axi port (512 bits)
};

/// The cards the model knows ("u250", "u55c"); Error(invalid_argument) listing them otherwise.
const CardProfile& card(const std::string& key);
std::vector<std::string> card_keys();

struct Resources {
  int dsp = 0;
  int bram36 = 0;
  int64_t lut = 0;
};

/// One pipelined loop of a core, as scheduled.
struct LoopEstimate {
  std::string name;      ///< the TANDEM_TRIP name in the source
  uint64_t trips = 0;    ///< iterations (summed over every time the loop runs)
  uint64_t entries = 0;  ///< times the pipeline is entered (each pays its depth)
  int ii = 1, depth = 1;
  double bytes = 0;  ///< off-chip bytes the loop moves
};

struct CoreEstimate {
  std::string core;
  std::vector<LoopEstimate> loops;
  uint64_t cycles = 0;   ///< Σ depth·entries + II·(trips − entries)
  double compute_s = 0;  ///< cycles / clock
  double memory_s = 0;   ///< Σ per-loop memory floors
  double seconds = 0;    ///< launch + Σ max(loop compute, loop memory)
  double flops = 0;      ///< useful floating-point operations
  double bytes = 0;      ///< off-chip bytes moved
  Resources resources;
  std::string bound;  ///< "compute" or "memory" (the larger part)
  /// Predicted trip count per loop name (what C simulation should count).
  std::map<std::string, uint64_t> trips() const;
};

/// The MAC engine's configuration (core_config.h's defaults unless asked otherwise).
struct TileConfig {
  int tm, tn, tk;
  static TileConfig built();  ///< what the cores in this build are compiled with
};

/// Throws Error(invalid_argument) naming the resource when `r` exceeds one SLR of the card.
void check_fits(const CardProfile& c, const Resources& r, const std::string& core);

CoreEstimate gemm(const CardProfile& c, int64_t m, int64_t n, int64_t k, TileConfig t = TileConfig::built());
/// `batch` products of one shape in one launch: gemm's loops `batch` times over.
CoreEstimate gemm_batched(const CardProfile& c, int64_t batch, int64_t m, int64_t n, int64_t k,
                          TileConfig t = TileConfig::built());
CoreEstimate conv2d(const CardProfile& c, int64_t n, int64_t ch, int64_t h, int64_t w, int64_t k, int64_t r, int64_t s,
                    int64_t stride_h, int64_t stride_w, int64_t pad_h, int64_t pad_w,
                    TileConfig t = TileConfig::built());
CoreEstimate bias_relu_pool(const CardProfile& c, int64_t n, int64_t ch, int64_t h, int64_t w, int64_t pool,
                            int64_t stride);
CoreEstimate absmax(const CardProfile& c, int64_t n, int64_t chunk);
CoreEstimate quantize(const CardProfile& c, int64_t n, int64_t chunk, bool norm2);
CoreEstimate sign_pack(const CardProfile& c, int64_t n, int64_t chunk);
/// `scanned`: elements the selection pass looks at before its output is full (n, or fewer when
/// capacity stops it early).
CoreEstimate compact(const CardProfile& c, int64_t n, int64_t scanned);
CoreEstimate accumulate(const CardProfile& c, int64_t n);

/// The vector unit (fill, scale, add, mul, ReLU forward/backward): n elements; `reads` operands
/// read per element (0–2).
CoreEstimate vector(const CardProfile& c, int64_t n, int reads);
CoreEstimate bias(const CardProfile& c, int64_t n, int64_t ch, int64_t inner, bool backward);
CoreEstimate maxpool(const CardProfile& c, int64_t planes, int64_t h, int64_t w, int64_t pool, int64_t stride);
CoreEstimate maxpool_backward(const CardProfile& c, int64_t planes, int64_t outputs, int64_t inputs);
CoreEstimate softmax_xent(const CardProfile& c, int64_t n, int64_t classes);
CoreEstimate softmax_xent_backward(const CardProfile& c, int64_t n, int64_t classes);
CoreEstimate conv2d_backward_data(const CardProfile& c, int64_t n, int64_t ch, int64_t h, int64_t w, int64_t k,
                                  int64_t r, int64_t s, int64_t stride_h, int64_t stride_w, int64_t pad_h,
                                  int64_t pad_w, TileConfig t = TileConfig::built());
CoreEstimate conv2d_backward_weights(const CardProfile& c, int64_t n, int64_t ch, int64_t h, int64_t w, int64_t k,
                                     int64_t r, int64_t s, int64_t stride_h, int64_t stride_w, int64_t pad_h,
                                     int64_t pad_w, TileConfig t = TileConfig::built());

/// Seconds to move bytes between host and card.
double transfer_seconds(const CardProfile& c, double bytes);

}  // namespace tandem::fpga
