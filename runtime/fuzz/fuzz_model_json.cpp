// libFuzzer target for model descriptions (`tandem train --model FILE`, and inside model files):
// any text gives a model whose shapes and parameters can be computed, or an Error.
#include <cstdint>
#include <string>

#include "tandem/error.h"
#include "tandem/nn/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const tandem::nn::ModelSpec spec =
        tandem::nn::parse_model(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    if (spec.shapes().size() != spec.layers.size()) __builtin_trap();
    (void)spec.params();
    (void)tandem::nn::parse_model(spec.to_json(), "round trip");  // what it writes, it reads
  } catch (const tandem::Error&) {
  }
  return 0;
}
