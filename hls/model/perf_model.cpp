#include "perf_model.h"

#include <algorithm>
#include <cmath>

#include "core_config.h"
#include "tandem/error.h"

namespace tandem::fpga {
namespace {

// Card figures. U250: DDR4 4 × 19.25 GB/s, 64 GiB, PCIe Gen3 x16 (UG1393, XD099); per-SLR
// resources left for kernels on the xdma shell: 345K LUT, 2,877 DSP, 500 BRAM36, 320 URAM
// (UG1120). U55C: HBM2 16 GB in 32 pseudo-channels of 14.375 GB/s (UG1393); 9,024 DSP and
// 1,304K LUT over 3 SLRs, 2,016 BRAM36, 960 URAM (third-party tables, unverified — PLATFORM.md);
// a slice is kept for the shell as on the U250 (the per-SLR numbers below are totals / 3, less
// ~10%). Kernel clock 300 MHz, the Vitis default target. Launch: XRT users report 16–56 µs per
// xrt::run on a U25 (XRT issue 6601) and 50–100 µs on a U55C (issue 8687); 30 µs is used.
const std::vector<CardProfile>& profiles() {
  static const std::vector<CardProfile> p = {
      {"u250", "AMD Alveo U250", "xilinx_u250_gen3x16_xdma_4_1_202210_1", 300e6, 4, 2877, 500, 320, 345000, "DDR4", 4,
       19.25e9, 64ull << 30, 16e9, 30e-6, 64},
      {"u55c", "AMD Alveo U55C", "xilinx_u55c_gen3x16_xdma_3_202210_1", 300e6, 3, 2700, 600, 288, 390000, "HBM2", 32,
       14.375e9, 16ull << 30, 16e9, 30e-6, 64},
  };
  return p;
}

// Operator latencies in cycles at 300 MHz (Vitis HLS defaults on UltraScale+, full-DSP floating
// point) and the round trip of an m_axi read burst to DDR/HBM. Assumptions, documented here and
// in hls/README.md; a Vitis report would replace them per core.
constexpr int kRead = 64;  // AXI read latency before the first beat
constexpr int kFmul = 4, kFadd = 5, kFdiv = 16, kDmul = 6, kDadd = 7, kIdiv = 36;
constexpr int kPhilox = 10 * 5;  // ten rounds of a 32×32 multiply (4) and an xor

// Resources per operator: DSP48E2 and LUT (rough; UltraScale+ defaults).
constexpr int kDspFmac = 5, kDspFmul = 3, kDspDadd = 3, kDspDmul = 11, kDspMul32 = 3;
constexpr int64_t kLutFmac = 500, kLutPort = 3000, kLutControl = 5000, kLutFdiv = 800, kLutDouble = 700;

int bram36(int64_t bits) { return static_cast<int>((bits + 36863) / 36864); }
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorKind::invalid_argument, "", "fpga model", what); }

void positive(std::initializer_list<int64_t> values, const std::string& core) {
  for (int64_t v : values)
    if (v < 1) bad(core + ": sizes must be ≥ 1");
}

LoopEstimate loop(std::string name, uint64_t trips, uint64_t entries, int depth, double bytes, int ii = 1) {
  return {std::move(name), trips, std::max<uint64_t>(entries, trips > 0 ? 1 : 0), ii, depth, bytes};
}

// Sums the loops (they run one after another), adds the launch, labels the bound.
CoreEstimate finish(const CardProfile& c, std::string core, std::vector<LoopEstimate> loops, double flops,
                    Resources r) {
  check_fits(c, r, core);
  CoreEstimate e;
  e.core = std::move(core);
  e.flops = flops;
  e.resources = r;
  double time = c.launch_s;
  const double port_bw = std::min(c.port_bytes * c.clock_hz, c.bank_bw);
  for (const LoopEstimate& l : loops) {
    const uint64_t cycles =
        l.trips == 0 ? 0 : l.entries * static_cast<uint64_t>(l.depth) + uint64_t(l.ii) * (l.trips - l.entries);
    const double compute = static_cast<double>(cycles) / c.clock_hz, memory = l.bytes / port_bw;
    e.cycles += cycles;
    e.compute_s += compute;
    e.memory_s += memory;
    e.bytes += l.bytes;
    time += std::max(compute, memory);
  }
  e.seconds = time;
  e.bound = e.memory_s > e.compute_s ? "memory" : "compute";
  e.loops = std::move(loops);
  return e;
}

Resources engine_resources(TileConfig t, int ports) {
  Resources r;
  r.dsp = kDspFmac * t.tn + 2 * kDspFmul + kDspFmac;  // the MAC array, and alpha·acc + beta·c
  // acc and bt are partitioned by column (tn banks of tm and tk words); at is one buffer.
  r.bram36 = t.tn * bram36(int64_t{t.tm} * 32) + t.tn * bram36(int64_t{t.tk} * 32) + bram36(int64_t{t.tm} * t.tk * 32);
  r.lut = kLutFmac * t.tn + kLutPort * ports + kLutControl;
  return r;
}

Resources streaming_resources(int ports, int dsp = 0, int64_t lut = 0) {
  return {dsp, 0, kLutPort * ports + kLutControl + lut};
}

// implicit_gemm.h's loops for out[rows][cols] = Σ_depth, run `times` times: the trip-counter
// names (clear may be null: not modeled) and the depths of the two fetch loops.
struct ImplicitLoops {
  const char *clear, *load_a, *produce_b, *store;
  int a_depth, b_depth;
};

std::vector<LoopEstimate> implicit_gemm_loops(TileConfig t, int64_t rows, int64_t cols, int64_t depth, int64_t times,
                                              const ImplicitLoops& n) {
  const uint64_t tiles = static_cast<uint64_t>(times * ceil_div(rows, t.tm) * ceil_div(cols, t.tn));
  const uint64_t blocks = tiles * static_cast<uint64_t>(ceil_div(depth, t.tk));
  const double d = static_cast<double>(depth);
  std::vector<LoopEstimate> l;
  if (n.clear) l.push_back(loop(n.clear, tiles * t.tm, tiles, 2, 0));
  l.push_back(loop(n.load_a, tiles * static_cast<uint64_t>(depth) * t.tm, blocks, n.a_depth,
                   4.0 * times * rows * d * ceil_div(cols, t.tn)));
  l.push_back(loop(n.produce_b, tiles * static_cast<uint64_t>(depth) * t.tn, blocks, n.b_depth,
                   4.0 * times * d * cols * ceil_div(rows, t.tm)));
  l.push_back(loop("mac", tiles * static_cast<uint64_t>(depth) * t.tm, blocks, kFmul + kFadd + 2, 0));
  l.push_back(loop(n.store, static_cast<uint64_t>(times * rows * cols), tiles, 4, 4.0 * times * rows * cols));
  return l;
}

}  // namespace

const CardProfile& card(const std::string& key) {
  for (const CardProfile& p : profiles())
    if (p.key == key) return p;
  std::string known;
  for (const std::string& k : card_keys()) known += (known.empty() ? "" : ", ") + k;
  bad("unknown card '" + key + "' (known: " + known + ")");
}

std::vector<std::string> card_keys() {
  std::vector<std::string> out;
  for (const CardProfile& p : profiles()) out.push_back(p.key);
  return out;
}

TileConfig TileConfig::built() { return {tandem_hls::kTileM, tandem_hls::kTileN, tandem_hls::kTileK}; }

std::map<std::string, uint64_t> CoreEstimate::trips() const {
  std::map<std::string, uint64_t> out;
  for (const LoopEstimate& l : loops) out[l.name] += l.trips;
  return out;
}

void check_fits(const CardProfile& c, const Resources& r, const std::string& core) {
  const auto over = [&](const char* what, int64_t need, int64_t have) {
    if (need > have)
      bad(core + " needs " + std::to_string(need) + " " + what + "; one SLR of the " + c.name + " has " +
          std::to_string(have) + " (choose smaller tiles)");
  };
  over("DSP", r.dsp, c.dsp_per_slr);
  over("BRAM36", r.bram36, c.bram36_per_slr);
  over("LUT", r.lut, c.lut_per_slr);
}

double transfer_seconds(const CardProfile& c, double bytes) { return bytes / c.pcie_bw; }

CoreEstimate gemm(const CardProfile& c, int64_t m, int64_t n, int64_t k, TileConfig t) {
  positive({m, n, k, t.tm, t.tn, t.tk}, "gemm");
  const uint64_t tiles = static_cast<uint64_t>(ceil_div(m, t.tm) * ceil_div(n, t.tn));
  const uint64_t steps = static_cast<uint64_t>(ceil_div(k, t.tk));
  const uint64_t blocks = tiles * steps;
  std::vector<LoopEstimate> l = {
      loop("gemm.clear", tiles * t.tm, tiles, 2, 0),
      // Tiles read whole, zero-padded past the edges; only the real elements move.
      // Loads cover the kd reduction steps a block uses (the last block may be short).
      loop("gemm.load_a", tiles * static_cast<uint64_t>(k) * t.tm, blocks, kRead + 2, 4.0 * m * k * ceil_div(n, t.tn)),
      loop("gemm.load_b", tiles * static_cast<uint64_t>(k) * t.tn, blocks, kRead + 2, 4.0 * k * n * ceil_div(m, t.tm)),
      loop("mac", tiles * static_cast<uint64_t>(k) * t.tm, blocks, kFmul + kFadd + 2, 0),
      loop("gemm.store", static_cast<uint64_t>(m * n), tiles, kRead + kFmul + kFadd + 2, 8.0 * m * n),
  };
  return finish(c, "gemm", std::move(l), 2.0 * m * n * k, engine_resources(t, 3));
}

CoreEstimate gemm_batched(const CardProfile& c, int64_t batch, int64_t m, int64_t n, int64_t k, TileConfig t) {
  positive({batch}, "gemm_batched");
  CoreEstimate one = gemm(c, m, n, k, t);
  const auto times = static_cast<uint64_t>(batch);
  for (LoopEstimate& l : one.loops) l.trips *= times, l.entries *= times, l.bytes *= static_cast<double>(batch);
  return finish(c, "gemm_batched", std::move(one.loops), one.flops * static_cast<double>(batch), one.resources);
}

CoreEstimate conv2d(const CardProfile& c, int64_t n, int64_t ch, int64_t h, int64_t w, int64_t k, int64_t r, int64_t s,
                    int64_t stride_h, int64_t stride_w, int64_t pad_h, int64_t pad_w, TileConfig t) {
  positive({n, ch, h, w, k, r, s, stride_h, stride_w, t.tm, t.tn, t.tk}, "conv2d");
  const int64_t p = (h + 2 * pad_h - r) / stride_h + 1, q = (w + 2 * pad_w - s) / stride_w + 1;
  if (p < 1 || q < 1) bad("conv2d: the kernel is larger than the padded input");
  const int64_t pixels = p * q, crs = ch * r * s;
  // im2col and the B-tile fill are one DATAFLOW region: the fill overlaps the producer, so the
  // region costs the producer's loop plus the FIFO's drain (counted in its depth).
  std::vector<LoopEstimate> l = implicit_gemm_loops(
      t, k, pixels, crs, n, {"conv.clear", "conv.load_w", "conv.im2col", "conv.store", kRead + 2, kRead + kIdiv + 4});
  Resources res = engine_resources(t, 3);
  res.lut += 2 * 1500;  // the im2col index divisions
  return finish(c, "conv2d", std::move(l), 2.0 * n * k * pixels * crs, res);
}

CoreEstimate bias_relu_pool(const CardProfile& c, int64_t n, int64_t ch, int64_t h, int64_t w, int64_t pool,
                            int64_t stride) {
  positive({n, ch, h, w, pool, stride}, "bias_relu_pool");
  const int64_t ph = (h - pool) / stride + 1, pw = (w - pool) / stride + 1;
  if (ph < 1 || pw < 1) bad("bias_relu_pool: the window is larger than the input");
  const uint64_t outputs = static_cast<uint64_t>(n * ch * ph * pw);
  // Pipelined over outputs; the pool² reads of a window share one port, so II = pool².
  std::vector<LoopEstimate> l = {loop("pool.outputs", outputs, static_cast<uint64_t>(n * ch),
                                      kRead + kFadd + 3 + static_cast<int>(pool * pool),
                                      4.0 * outputs * pool * pool + 8.0 * outputs, static_cast<int>(pool * pool))};
  return finish(c, "bias_relu_pool", std::move(l), 2.0 * outputs * pool * pool,
                streaming_resources(4, 2 * kDspFmul, 400));
}

CoreEstimate absmax(const CardProfile& c, int64_t n, int64_t chunk) {
  positive({n, chunk}, "absmax");
  std::vector<LoopEstimate> l = {
      loop("chunk.absmax", static_cast<uint64_t>(n), static_cast<uint64_t>(ceil_div(n, chunk)), kRead + 2, 4.0 * n)};
  return finish(c, "absmax", std::move(l), 0, streaming_resources(2));
}

namespace {
// chunk_sum4's trips: ⌊count/4⌋ per chunk (the tail runs outside the pipeline, a few cycles).
uint64_t sum4_trips(int64_t n, int64_t chunk) {
  return static_cast<uint64_t>((n / chunk) * (chunk / 4) + (n % chunk) / 4);
}
}  // namespace

CoreEstimate quantize(const CardProfile& c, int64_t n, int64_t chunk, bool norm2) {
  positive({n, chunk}, "quantize");
  const uint64_t chunks = static_cast<uint64_t>(ceil_div(n, chunk));
  std::vector<LoopEstimate> l;
  if (norm2)  // four f64 accumulators updated every iteration: the adder's latency sets the II
    l.push_back(loop("chunk.sum4", sum4_trips(n, chunk), chunks, kRead + kDmul + kDadd + 2, 4.0 * n, kDadd));
  else
    l.push_back(loop("chunk.absmax", static_cast<uint64_t>(n), chunks, kRead + 2, 4.0 * n));
  l.push_back(loop("quantize.levels", static_cast<uint64_t>(n), chunks, kRead + kPhilox + kFdiv + kFadd + 4,
                   5.0 * n + 4.0 * static_cast<double>(chunks)));
  const int dsp = 2 * 10 * kDspMul32 + kDspFmul + (norm2 ? 4 * (kDspDadd + kDspDmul) : 0);
  return finish(c, "quantize", std::move(l), 3.0 * n,
                streaming_resources(3, dsp, kLutFdiv + (norm2 ? 8 * kLutDouble + 1500 : 0)));
}

CoreEstimate sign_pack(const CardProfile& c, int64_t n, int64_t chunk) {
  positive({n, chunk}, "sign_pack");
  const uint64_t chunks = static_cast<uint64_t>(ceil_div(n, chunk));
  // The byte loop reads eight floats per iteration through one 32-bit-per-beat port: II 8.
  std::vector<LoopEstimate> l = {
      loop("chunk.sum4", sum4_trips(n, chunk), chunks, kRead + kDadd + 2, 4.0 * n, kDadd),
      loop("sign.bytes", static_cast<uint64_t>(ceil_div(n, 8)), 1, kRead + 3, 4.0 * n + n / 8.0, 8),
  };
  return finish(c, "sign_pack", std::move(l), 2.0 * n, streaming_resources(3, 4 * kDspDadd, 4 * kLutDouble));
}

CoreEstimate compact(const CardProfile& c, int64_t n, int64_t scanned) {
  positive({n}, "compact");
  if (scanned < 0 || scanned > n) bad("compact: scanned must be in [0, n]");
  std::vector<LoopEstimate> l = {
      loop("compact.count", static_cast<uint64_t>(n), 1, kRead + 3, 4.0 * n),
      loop("compact.select", static_cast<uint64_t>(scanned), 1, kRead + 3, 4.0 * scanned),
  };
  return finish(c, "compact", std::move(l), 2.0 * n, streaming_resources(4));
}

CoreEstimate accumulate(const CardProfile& c, int64_t n) {
  positive({n}, "accumulate");
  std::vector<LoopEstimate> l = {loop("accumulate", static_cast<uint64_t>(n), 1, kRead + kFmul + kFadd + 2, 12.0 * n)};
  return finish(c, "accumulate", std::move(l), 2.0 * n, streaming_resources(2, kDspFmac));
}

CoreEstimate vector(const CardProfile& c, int64_t n, int reads) {
  positive({n}, "vector");
  std::vector<LoopEstimate> l = {loop("vector", static_cast<uint64_t>(n), 1, kRead + kFmul + 3, 4.0 * n * (reads + 1))};
  return finish(c, "vector", std::move(l), static_cast<double>(n), streaming_resources(3, kDspFmac, 600));
}

CoreEstimate bias(const CardProfile& c, int64_t n, int64_t ch, int64_t inner, bool backward) {
  positive({n, ch, inner}, "bias");
  const uint64_t total = static_cast<uint64_t>(n * ch * inner);
  std::vector<LoopEstimate> l;
  if (backward)  // one f64 accumulator per channel: II = the adder's latency
    l.push_back(loop("bias.sum", total, static_cast<uint64_t>(ch), kRead + kDadd + 2, 4.0 * total, kDadd));
  else
    l.push_back(loop("bias.add", total, static_cast<uint64_t>(n * ch), kRead + kFadd + 3, 8.0 * total));
  return finish(c, "bias", std::move(l), static_cast<double>(total), streaming_resources(2, kDspDadd, kLutDouble));
}

CoreEstimate maxpool(const CardProfile& c, int64_t planes, int64_t h, int64_t w, int64_t pool, int64_t stride) {
  positive({planes, h, w, pool, stride}, "maxpool");
  const int64_t ph = (h - pool) / stride + 1, pw = (w - pool) / stride + 1;
  if (ph < 1 || pw < 1) bad("maxpool: the window is larger than the input");
  const uint64_t outputs = static_cast<uint64_t>(planes * ph * pw);
  std::vector<LoopEstimate> l = {loop("maxpool.outputs", outputs, static_cast<uint64_t>(planes),
                                      kRead + 3 + static_cast<int>(pool * pool), 4.0 * outputs * (pool * pool + 2),
                                      static_cast<int>(pool * pool))};
  return finish(c, "maxpool", std::move(l), static_cast<double>(outputs * pool * pool), streaming_resources(3));
}

CoreEstimate maxpool_backward(const CardProfile& c, int64_t planes, int64_t outputs, int64_t inputs) {
  positive({planes, outputs, inputs}, "maxpool_backward");
  const uint64_t p = static_cast<uint64_t>(planes);
  std::vector<LoopEstimate> l = {
      loop("maxpool.clear", p * static_cast<uint64_t>(inputs), p, 4, 4.0 * planes * inputs),
      loop("maxpool.route", p * static_cast<uint64_t>(outputs), p, kRead + kFadd + 4, 16.0 * planes * outputs, 2)};
  return finish(c, "maxpool_backward", std::move(l), static_cast<double>(planes * outputs), streaming_resources(3));
}

CoreEstimate softmax_xent(const CardProfile& c, int64_t n, int64_t classes) {
  positive({n, classes}, "softmax_xent");
  const uint64_t rows = static_cast<uint64_t>(n);
  std::vector<LoopEstimate> l = {
      loop("softmax.max", rows * static_cast<uint64_t>(classes - 1), rows, kRead + 3, 4.0 * n * classes),
      // exp then an f64 running sum: the adder's latency sets the II
      loop("softmax.exp", rows * static_cast<uint64_t>(classes), rows, kRead + 20 + kDadd, 8.0 * n * classes, kDadd),
      loop("softmax.scale", rows * static_cast<uint64_t>(classes), rows, kRead + kFmul + 2, 8.0 * n * classes)};
  return finish(c, "softmax_xent", std::move(l), 4.0 * n * classes, streaming_resources(4, 30, 3000));
}

CoreEstimate softmax_xent_backward(const CardProfile& c, int64_t n, int64_t classes) {
  positive({n, classes}, "softmax_xent_backward");
  std::vector<LoopEstimate> l = {loop("softmax.backward", static_cast<uint64_t>(n * classes), static_cast<uint64_t>(n),
                                      kRead + kFmul + kFadd + 2, 8.0 * n * classes)};
  return finish(c, "softmax_xent_backward", std::move(l), 2.0 * n * classes, streaming_resources(3, kDspFmac));
}

CoreEstimate conv2d_backward_data(const CardProfile& c, int64_t n, int64_t ch, int64_t h, int64_t w, int64_t k,
                                  int64_t r, int64_t s, int64_t stride_h, int64_t stride_w, int64_t pad_h,
                                  int64_t pad_w, TileConfig t) {
  positive({n, ch, h, w, k, r, s, stride_h, stride_w, t.tm, t.tn, t.tk}, "conv2d_backward_data");
  const int64_t p = (h + 2 * pad_h - r) / stride_h + 1, q = (w + 2 * pad_w - s) / stride_w + 1;
  if (p < 1 || q < 1) bad("conv2d_backward_data: the kernel is larger than the padded input");
  auto l = implicit_gemm_loops(
      t, ch, h * w, k * r * s, n,
      {nullptr, "conv_bd.load_w", "conv_bd.gather", "conv_bd.store", kRead + kIdiv + 2, kRead + kIdiv + 6});
  return finish(c, "conv2d_backward_data", std::move(l), 2.0 * n * k * p * q * ch * r * s, engine_resources(t, 3));
}

CoreEstimate conv2d_backward_weights(const CardProfile& c, int64_t n, int64_t ch, int64_t h, int64_t w, int64_t k,
                                     int64_t r, int64_t s, int64_t stride_h, int64_t stride_w, int64_t pad_h,
                                     int64_t pad_w, TileConfig t) {
  positive({n, ch, h, w, k, r, s, stride_h, stride_w, t.tm, t.tn, t.tk}, "conv2d_backward_weights");
  const int64_t p = (h + 2 * pad_h - r) / stride_h + 1, q = (w + 2 * pad_w - s) / stride_w + 1;
  if (p < 1 || q < 1) bad("conv2d_backward_weights: the kernel is larger than the padded input");
  auto l = implicit_gemm_loops(
      t, k, ch * r * s, n * p * q, 1,
      {nullptr, "conv_bw.load_dy", "conv_bw.im2col", "conv_bw.store", kRead + kIdiv + 2, kRead + kIdiv + 6});
  return finish(c, "conv2d_backward_weights", std::move(l), 2.0 * n * k * p * q * ch * r * s, engine_resources(t, 3));
}

}  // namespace tandem::fpga
