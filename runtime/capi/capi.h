// What the C API's two halves (runtime.cpp, model.cpp) share: the handles' contents and the one
// place where C++ errors become status codes and the thread's last-error message.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tandem/device.h"
#include "tandem/error.h"
#include "tandem/nn/model_file.h"
#include "tandem/nn/network.h"
#include "tandem/nn/optimizer.h"
#include "tandem/tandem.h"
#include "tandem/tensor.h"

struct tandem_runtime {
  std::vector<tandem::Device> devices;  // allowed, in preference order
  uint64_t memory_limit = 0;            // bytes per model; 0: none
  bool owns_log = false;                // this runtime installed the process's log sink
};

struct tandem_model {
  tandem_runtime* runtime = nullptr;
  std::mutex lock;  // calls on one model run one at a time
  tandem::nn::ModelSpec spec;
  tandem::nn::InputNorm norm;                      // applied to every batch on its way in
  std::unique_ptr<tandem::MemoryAccount> account;  // every tensor of the model is charged here
  std::unique_ptr<tandem::nn::Network> net;
  // The last batch on the model's device (reused while the size holds); labels when training.
  tandem::Tensor input, labels;
  std::unique_ptr<tandem::nn::Sgd> sgd;  // on the first training step
  // The footprint, measured while loading: fixed + per_sample × batch bytes (see model.cpp), plus
  // the optimizer's velocity once training has started.
  uint64_t fixed_bytes = 0, per_sample_bytes = 0, velocity_bytes = 0;
};

namespace tandem::capi {

/// Records message as the calling thread's last error and returns status.
tandem_status fail(tandem_status status, const std::string& message);

/// The status for a C++ error of this kind.
tandem_status status_of(ErrorKind kind);

/// Runs f, turning every exception into a status and a message that names the function:
///   tandem_model_load: tandem: checkpoint m.tdm: checksum mismatch: the file is corrupt or truncated
/// f returns a tandem_status itself (TANDEM_OK, or fail(…) for checks of its own).
template <class F>
tandem_status guarded(const char* function, F&& f) noexcept {
  try {
    return f();
  } catch (const Error& e) {
    return fail(status_of(e.kind()), std::string(function) + ": " + e.what());
  } catch (const std::bad_alloc&) {
    return fail(TANDEM_ERROR_OUT_OF_MEMORY, std::string(function) + ": out of host memory");
  } catch (const std::exception& e) {
    return fail(TANDEM_ERROR_INTERNAL, std::string(function) + ": " + e.what());
  } catch (...) {
    return fail(TANDEM_ERROR_INTERNAL, std::string(function) + ": unknown exception");
  }
}

/// Fails unless p is non-null; what names the argument ("runtime", "input").
#define TANDEM_C_REQUIRE(p, function, what)                                                                           \
  do {                                                                                                                \
    if ((p) == nullptr)                                                                                               \
      return ::tandem::capi::fail(TANDEM_ERROR_INVALID_ARGUMENT, std::string(function) + ": " + (what) + " is NULL"); \
  } while (0)

}  // namespace tandem::capi
