// Checkpoint files: a versioned, checksummed container of named tensors plus a JSON header.
//   "TNDMCKPT" | u32 version | u32 header length | header JSON | tensor bytes | u32 CRC-32
// The header lists every tensor (name, dtype, shape, offset, bytes). Integers little-endian;
// the CRC-32 (zlib) covers everything before it. Written atomically (temp, fsync, rename).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/dtype.h"
#include "tandem/shape.h"
#include "tandem/tensor.h"

namespace tandem::nn {

inline constexpr uint32_t checkpoint_version = 1;

struct NamedTensor {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  std::vector<uint8_t> bytes;  ///< shape.numel() × dtype_size(dtype)
  /// A copy of a tensor's contents (from any device).
  static NamedTensor of(const std::string& name, const Tensor& t);
};

struct CheckpointData {
  std::string header_json = "{}";  ///< the writer's own fields (must be a JSON object)
  std::vector<NamedTensor> tensors;
  const NamedTensor* find(const std::string& name) const;
};

/// Writes atomically; on failure the previous file at `path` is untouched.
void write_checkpoint(const std::string& path, const CheckpointData& data);
/// Reads and validates everything (magic, version, lengths, offsets, dtypes, CRC) before
/// returning; throws Error(io) naming the file and what is wrong.
CheckpointData read_checkpoint(const std::string& path);
/// The same checks on a file's bytes in memory; origin names it in errors.
CheckpointData parse_checkpoint(std::string_view bytes, const std::string& origin);

}  // namespace tandem::nn
