#!/usr/bin/env bash
# The FPGA section of BENCHMARKS.md: the performance model per core and card (modeled), the CNN's
# layers on cpu:0 (measured) vs fpga-sim:0 (modeled), and the XRT launch path's host overhead
# under XRT's no-op shim (measured host software; the kernel computes nothing).
#   tools/bench_fpga.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh build >/dev/null
echo "## performance model (modeled)"
build/hls/fpga_model_report
echo
echo "## CNN layers: cpu:0 measured, fpga-sim:0 modeled"
build/bench/bench_fpga_layers --json build/fpga_layers.json
if [ -x build/bench/bench_xrt_launch ]; then
  echo
  echo "## XRT launch overhead (no-op shim)"
  XILINX_XRT=$PWD/build/hls/xrt/xrt_noop_root XCL_EMULATION_MODE=noop \
    build/bench/bench_xrt_launch build/hls/xrt/xclbins/u250.xclbin build/hls/xrt/xclbins/u250.json 5000
fi
