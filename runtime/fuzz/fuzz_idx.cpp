// libFuzzer target for the IDX reader (datasets): any bytes give an array whose size its
// dimensions account for, or an Error, nothing else.
#include <cstdint>
#include <span>

#include "tandem/error.h"
#include "tandem/nn/data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const tandem::nn::IdxArray a = tandem::nn::parse_idx(std::span<const uint8_t>(data, size), "fuzz");
    uint64_t n = 1;
    for (int64_t d : a.dims) n *= static_cast<uint64_t>(d);
    if (n != a.data.size()) __builtin_trap();
  } catch (const tandem::Error&) {
  }
  return 0;
}
