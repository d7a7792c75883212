// Writes an xclbin container (the axlf format of xclbin.h) from a manifest: the metadata XML
// (kernels, arguments, instances), MEM_TOPOLOGY (the banks), IP_LAYOUT (one compute unit per
// instance, "kernel:kernel_1") and CONNECTIVITY (each m_axi argument to its bank). It holds no
// bitstream, so it is for XRT's parser and no-op shim only: the test xclbins that xclbinutil,
// broken in Debian's XRT package, would otherwise make. Real xclbins come from bitstreams/.
#pragma once

#include <string>
#include <vector>

#include "manifest.h"

namespace tandem::fpga {

/// The container bytes. Deterministic: the same manifest gives the same bytes (the xclbin UUID
/// is a hash of the content), so build outputs are reproducible.
std::vector<char> pack_xclbin(const Manifest& manifest);

/// Writes bytes to a file; throws Error(io) naming the file.
void write_file(const std::string& path, const std::vector<char>& bytes);

}  // namespace tandem::fpga
