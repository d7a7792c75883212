// The manifest of a bitstream: which kernels an xclbin must contain, each kernel's arguments
// (index, name, C type, and for m_axi pointers the memory bank they are wired to) and the card's
// memory banks. bitstreams/manifests/<card>.json are the manifests of the real builds; the
// driver refuses an xclbin that disagrees with its manifest, and the packer writes test xclbins
// from one. Argument names and types are those of hls/cores/cores.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::fpga {

struct ManifestArg {
  int index = 0;
  std::string name;
  std::string type;  ///< as spelled in cores.h: "const float*", "int", "uint64_t"
  std::string bank;  ///< m_axi pointers: the bank name ("DDR[0]", "HBM[3]"); empty for scalars
  bool pointer() const { return !type.empty() && type.back() == '*'; }
};

struct ManifestKernel {
  std::string name;
  int instances = 1;  ///< compute units (v++ --connectivity.nk)
  std::vector<ManifestArg> args;
};

struct ManifestBank {
  std::string name;               ///< connectivity name used by v++ ("DDR[0]", "HBM[0]")
  std::vector<std::string> tags;  ///< MEM_TOPOLOGY tags that denote it; the first is what the packer writes
  uint64_t size_bytes = 0;
};

struct Manifest {
  std::string path;  ///< where it was read from, for messages
  std::string card;  ///< "u250"
  std::string platform;
  std::string memory_type;  ///< "DDR4" or "HBM"
  int kernel_clock_mhz = 0;
  std::string default_bank;  ///< where buffers are allocated
  std::vector<ManifestBank> banks;
  std::vector<ManifestKernel> kernels;

  const ManifestKernel* kernel(std::string_view name) const;
  const ManifestBank* bank(std::string_view name) const;
  /// The file name alone ("u250.json"), for messages.
  std::string file_name() const;
};

/// Reads and checks a manifest (format, version, unique names, indices = positions, every bank
/// known). Throws Error(io) when unreadable, Error(invalid_argument) naming the file and field.
Manifest load_manifest(const std::string& path);
/// The same from JSON text; `path` is only used in messages.
Manifest parse_manifest(std::string_view json_text, const std::string& path);

/// A C type in a canonical spelling, so that manifests (cores.h spellings) and xclbins (what
/// v++ writes: "float*", "unsigned long", "ap_int<8>*"…) compare equal when they mean the same
/// thing: `const` and spaces dropped, fixed-width integers spelled as their LP64 builtin.
std::string canonical_type(std::string_view type);
/// Bytes of a scalar argument of this type in the kernel's register map (pointers: 8).
size_t type_size(std::string_view type);

}  // namespace tandem::fpga
