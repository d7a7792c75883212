// libFuzzer target for performance profiles (`tandem calibrate` writes them; `tandem plan` and
// `train --place auto` read them, from ~/.cache/tandem/profile.json, --profile or
// $TANDEM_PROFILE): Profile::parse checks every field. Invariant: any text gives a profile or a
// tandem::Error; a profile it accepts writes back (to_json) to text that parses to the same
// profile, and its predictions are numbers ≥ 0 (the planner adds and compares them).
// Seeds (corpus/profile/): `tandem calibrate --devices cpu:0,fpga-sim:0 --models
// runtime/fuzz/seed_model.json --batches 2,4,8 --repeats 3` trimmed to a few ops and points.
#include <cmath>
#include <cstdint>
#include <string>

#include "tandem/error.h"
#include "tandem/nn/calibration.h"
#include "tandem/ops.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tandem;
  try {
    const nn::Profile p = nn::Profile::parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    const std::string text = p.to_json();
    if (nn::Profile::parse(text, "round trip").to_json() != text) __builtin_trap();  // what it writes, it reads
    for (const auto& [id, d] : p.devices) {
      for (double x : {0.0, 1.0, 4096.0, 1e9}) {
        const double copy = p.copy_seconds(id, x);
        if (std::isnan(copy) || copy < 0) __builtin_trap();
        for (const OpDesc* op : {&opdesc::gemm, &opdesc::conv2d_forward, &opdesc::relu_forward}) {
          const auto t = p.predict(id, *op, {x, x});
          if (t && (std::isnan(*t) || *t < 0)) __builtin_trap();
          for (const auto& [name, o] : d.ops)
            for (const auto& [family, law] : o.shapes)
              if (name == op->name) (void)p.predict(id, *op, {x, x}, family);
        }
      }
    }
  } catch (const Error&) {
  }
  return 0;
}
