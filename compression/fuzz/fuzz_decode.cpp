// libFuzzer target: the codec-level decoder's checks (wire header, codec parameters, payload
// size, every scale, level and index) must accept or reject any byte string without reading
// out of bounds; what they accept lies inside the input.
#include <cstdint>
#include <cstdlib>

#include "../src/payload_check.h"
#include "tandem/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto m = tandem::compression::check_message({data, size});
    if (m.wire.payload.data() < data || m.wire.payload.data() + m.wire.payload.size() > data + size) std::abort();
    if (m.wire.payload.size() != m.layout.bytes) std::abort();
  } catch (const tandem::Error&) {
  }
  return 0;
}
