// What the cuda tests share: the cuda devices, and skipping with the reason when there is none.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tandem/backend.h"

namespace tandem::test {

inline std::vector<Device> cuda_devices() {
  std::vector<Device> out;
  for (const Device& d : devices())
    if (d.kind() == DeviceKind::cuda) out.push_back(d);
  return out;
}

/// Why there is no GPU, as the backend's version line says it: "… (no device: <reason>)".
inline std::string no_gpu_reason() {
  for (const Backend* b : backends())
    if (b->name() == "cuda") {
      const std::string v = b->version();
      const size_t at = v.find("(no device: ");
      return at == std::string::npos ? v : v.substr(at + 12, v.size() - at - 13);
    }
  return "the cuda backend is not registered";
}

}  // namespace tandem::test

/// Declares `all_gpus` and `d` (cuda:0), or skips the test saying why there is no GPU.
#define NEED_CUDA(d)                                                                        \
  const std::vector<::tandem::Device> all_gpus = ::tandem::test::cuda_devices();            \
  if (all_gpus.empty()) GTEST_SKIP() << "no CUDA GPU: " << ::tandem::test::no_gpu_reason(); \
  const ::tandem::Device d = all_gpus.front()
