// libFuzzer target: decode_wire must reject or accept any byte string without reading out of
// bounds, and an accepted message's payload must lie inside the input.
#include <cstdint>
#include <cstdlib>

#include "tandem/compression/wire.h"
#include "tandem/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto m = tandem::compression::decode_wire({data, size});
    if (m.payload.data() < data || m.payload.data() + m.payload.size() > data + size) std::abort();
    volatile uint8_t sink = 0;
    for (uint8_t b : m.payload) sink = sink ^ b;  // touch every byte: ASan checks the bounds
  } catch (const tandem::Error&) {
  }
  return 0;
}
