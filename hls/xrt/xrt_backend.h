// The fpga-xrt backend: Alveo cards driven through XRT's native API, running the HLS cores of
// hls/cores/ from a bitstream built by bitstreams/. Its devices appear only where XRT is set up
// (XILINX_XRT) and sees a card (or an emulation shim, XCL_EMULATION_MODE), and an xclbin is
// named; otherwise the backend has zero devices, which is not an error.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "tandem/backend.h"

namespace tandem::fpga {

struct XrtConfig {
  std::string xclbin;    ///< TANDEM_XCLBIN; empty: no xclbin, so no devices
  std::string manifest;  ///< TANDEM_XCLBIN_MANIFEST; empty: the xclbin's path with .json for .xclbin
  std::chrono::milliseconds timeout{60000};  ///< TANDEM_XRT_TIMEOUT_MS: longest wait for one kernel run

  /// The configuration from those environment variables. Throws Error(invalid_argument) for a
  /// timeout that is not a positive number of milliseconds.
  static XrtConfig from_env();
};

/// The backend with one device per card XRT opens (fpga-xrt:0, …), each with the xclbin loaded
/// and checked against its manifest, and a kernel registered for each op whose core the xclbin
/// holds. Throws Error naming the file (and kernel, argument) when the xclbin or manifest is
/// missing, malformed or disagrees; with no card, no XRT or no xclbin it has zero devices.
std::unique_ptr<Backend> make_xrt_backend(const XrtConfig& config);
/// make_xrt_backend(XrtConfig::from_env()).
std::unique_ptr<Backend> make_xrt_backend();

}  // namespace tandem::fpga
