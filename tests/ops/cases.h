// One op case of the all-ops-on-all-devices suite (test_backend_ops.cpp): a name, the op it
// covers, and a body that runs it on a device and checks the result against a reference.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "harness.h"

namespace tandem::test {

struct OpCase {
  std::string name;
  const OpDesc* op;
  std::function<void(const Device&, Stream&)> run;
};

/// The compression primitives (cases_codec.cpp).
void add_codec_primitive_cases(std::vector<OpCase>& cases);
/// The transformer ops (cases_transformer.cpp).
void add_transformer_cases(std::vector<OpCase>& cases);

}  // namespace tandem::test
