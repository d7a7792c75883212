// Reading an xclbin safely and checking it against its manifest. XRT's parser trusts the file
// (section offsets and counts are used as they are), so a truncated or corrupt file could make
// it read past the end; the container is checked here first, and only a sound one reaches XRT.
// Internal to tandem_xrt (includes XRT headers).
#pragma once

#include <experimental/xrt_xclbin.h>

#include <string>
#include <vector>

#include "manifest.h"

namespace tandem::fpga {

/// Checks the axlf container in `bytes` (named `name` in messages): magic, the length in the
/// header, the section table, the sections the driver needs (metadata XML, memory topology,
/// IP layout, connectivity) and that their counts and indices fit. Throws
/// Error(invalid_argument) "<name>: truncated: ..." and the like.
void check_container(const std::vector<char>& bytes, const std::string& name);

/// Checks (check_container) and parses an xclbin's bytes, its metadata XML included: what
/// read_xclbin does once the file is read. Throws Error(invalid_argument) naming `name` when it
/// is malformed or XRT cannot parse it.
::xrt::xclbin parse_xclbin(const std::vector<char>& bytes, const std::string& name);

/// Reads, checks and parses an xclbin. Throws Error(io) when the file is missing or unreadable,
/// Error(invalid_argument) naming the file when it is malformed or XRT cannot parse it.
::xrt::xclbin read_xclbin(const std::string& path);

/// Checks the xclbin against the manifest: every manifest kernel present with its instance
/// count, and each argument's index, name, type (compared by canonical_type) and, for m_axi
/// pointers, bank. Throws Error(invalid_argument) naming the files, the kernel and the argument,
/// e.g. "kernel tandem_gemm argument 2 is 'c' of type float* in the manifest u250.json but 'out' in u250.xclbin".
/// Kernels in the xclbin that the manifest does not list are allowed (and not used).
void validate_xclbin(const ::xrt::xclbin& xclbin, const std::string& xclbin_path, const Manifest& manifest);

}  // namespace tandem::fpga
