// Host overhead of the XRT launch path, under XRT's no-op shim (the kernel computes nothing and
// completes at once, so what is timed is host software: argument setting, command submission,
// completion). Three paths, each the median µs per run over many:
//   native, new run    xrt::run r = kernel(args…); r.wait()       (what XRT's examples do)
//   native, reused run r.start(); r.wait() on one xrt::run          (arguments set once)
//   tandem XrtCard     XrtCard::launch: manifest checks, bank lookup, run, wait with timeout
//   tandem ops::axpy   the whole dispatch path on fpga-xrt:0 (validation, kernel lookup,
//                      argument binding, launch), + stream synchronize
// Run with XILINX_XRT and XCL_EMULATION_MODE=noop set (tools/bench_fpga.sh does).
//   bench_xrt_launch <xclbin> <manifest.json> [runs]
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "tandem/error.h"
#include "tandem/ops.h"
#include "xrt_card.h"

namespace {

double median_us(int runs, const std::function<void()>& once) {
  for (int i = 0; i < 50; ++i) once();  // warm-up
  std::vector<double> t(static_cast<size_t>(runs));
  for (double& x : t) {
    const auto start = std::chrono::steady_clock::now();
    once();
    x = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  }
  std::nth_element(t.begin(), t.begin() + runs / 2, t.end());
  return t[static_cast<size_t>(runs / 2)];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_xrt_launch <xclbin> <manifest.json> [runs]\n");
    return 2;
  }
  const int runs = argc > 3 ? std::max(10, std::atoi(argv[3])) : 5000;
  try {
    using tandem::fpga::KernelArg;
    tandem::fpga::XrtCard card(0, argv[1], tandem::fpga::load_manifest(argv[2]), std::chrono::milliseconds(10000));
    const int n = 1024;
    const auto x = card.allocate(n * 4);
    const auto y = card.allocate(n * 4);
    const KernelArg args[] = {KernelArg::buffer(*x, 0, n * 4, false), KernelArg::buffer(*y, 0, n * 4, true),
                              KernelArg::scalar(0.5f), KernelArg::scalar(n), KernelArg::scalar(0)};
    const double ours = median_us(runs, [&] { card.launch("tandem_axpy", args); });

    xrt::device device(0);
    const xrt::uuid uuid = device.load_xclbin(argv[1]);
    xrt::kernel kernel(device, uuid, "tandem_axpy");
    xrt::bo bx(device, n * 4, kernel.group_id(0)), by(device, n * 4, kernel.group_id(1));
    const double fresh = median_us(runs, [&] {
      xrt::run r = kernel(bx, by, 0.5f, n, 0);
      r.wait();
    });
    xrt::run reused = kernel(bx, by, 0.5f, n, 0);
    reused.wait();
    const double again = median_us(runs, [&] {
      reused.start();
      reused.wait();
    });
    // The registry's fpga-xrt device, loading the same xclbin and manifest.
    setenv("TANDEM_XCLBIN", argv[1], 1);
    setenv("TANDEM_XCLBIN_MANIFEST", argv[2], 1);
    const tandem::Device dev = tandem::find_device("fpga-xrt:0");
    tandem::Stream s(dev);
    tandem::Tensor tx = tandem::Tensor::zeros(dev, {n}), ty = tandem::Tensor::zeros(dev, {n});
    const double dispatched = median_us(runs, [&] {
      tandem::ops::axpy(s, 0.5f, tx, ty);
      s.synchronize();
    });
    std::printf("| path (XRT no-op shim: host overhead only) | µs per run (median of %d) |\n|---|---|\n", runs);
    std::printf("| native xrt::run per launch: kernel(args…) + wait | %.2f |\n", fresh);
    std::printf("| native, one xrt::run reused: start + wait | %.2f |\n", again);
    std::printf("| tandem XrtCard::launch (checks, banks, run, wait with timeout) | %.2f |\n", ours);
    std::printf("| tandem ops::axpy on fpga-xrt:0 (dispatch, binding, launch) + synchronize | %.2f |\n", dispatched);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_xrt_launch: %s\n", e.what());
    return 1;
  }
  return 0;
}
