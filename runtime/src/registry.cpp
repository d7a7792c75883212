// The backend registry: the compiled-in backends, initialized on first use, and their devices.
// This file is the one place that knows which backends exist (like ggml-backend-reg.cpp).
#include <memory>
#include <mutex>
#include <vector>

#include "../cpu/cpu_backend.h"
#if defined(TANDEM_HAVE_FPGA_SIM)
#include "fpga_sim.h"
#endif
#if defined(TANDEM_HAVE_XRT)
#include "xrt_backend.h"
#endif
#if defined(TANDEM_HAVE_OPENCL)
#include "opencl_backend.h"
#endif
#if defined(TANDEM_HAVE_CUDA)
#include "cuda_backend.h"
#endif
#include "tandem/backend.h"
#include "tandem/error.h"
#include "tandem/log.h"

namespace tandem {
namespace {

struct Registry {
  std::mutex mutex;
  std::vector<std::unique_ptr<Backend>> backends;
  std::vector<Device> devices;
};

void add_locked(Registry& r, std::unique_ptr<Backend> b) {
  for (DeviceImpl* d : b->devices()) {
    r.devices.emplace_back(d);
    TANDEM_LOG(debug, "backend " << b->name() << ": device " << d->id() << " (" << d->props().name << ")");
  }
  r.backends.push_back(std::move(b));
}

template <class Make>
[[maybe_unused]] void add_optional(Registry& r, const char* kind, Make make) {
  try {
    add_locked(r, make());
  } catch (const Error& e) {
    TANDEM_LOG(error, e.what() << " (no " << kind << " device)");
  }
}

// Never destroyed: backends hold driver objects (XRT devices, OpenCL contexts and queues) whose
// libraries tear down their own state at exit in an order we do not control; releasing ours
// during static destruction was seen to crash `tandem info` now and then. The process's end
// releases everything.
Registry& registry() {
  static Registry& r = *new Registry;
  static std::once_flag once;
  std::call_once(once, [] {
    std::lock_guard lock(r.mutex);
    add_locked(r, cpu::make_backend());
    // A backend that fails to start (a bad TANDEM_FPGA_SIM, TANDEM_XCLBIN or manifest, a broken
    // OpenCL or CUDA installation) leaves the other devices usable, and says so.
#if defined(TANDEM_HAVE_FPGA_SIM)
    add_optional(r, "fpga-sim", fpga::make_sim_backend);
#endif
#if defined(TANDEM_HAVE_XRT)
    add_optional(r, "fpga-xrt", [] { return fpga::make_xrt_backend(); });
#endif
#if defined(TANDEM_HAVE_OPENCL)
    add_optional(r, "opencl", opencl::make_opencl_backend);
#endif
#if defined(TANDEM_HAVE_CUDA)
    add_optional(r, "cuda", cuda::make_cuda_backend);
#endif
  });
  return r;
}

}  // namespace

void register_backend(std::unique_ptr<Backend> backend) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  add_locked(r, std::move(backend));
}

std::vector<const Backend*> backends() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<const Backend*> out;
  for (const auto& b : r.backends) out.push_back(b.get());
  return out;
}

std::vector<Device> devices() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return r.devices;
}

Device find_device(std::string_view id) {
  const std::string want = id.find(':') == std::string_view::npos ? std::string(id) + ":0" : std::string(id);
  const std::vector<Device> all = devices();
  std::string known;
  for (const Device& d : all) {
    if (d.id() == want) return d;
    known += (known.empty() ? "" : ", ") + d.id();
  }
  throw Error(ErrorKind::invalid_argument, "", "find device",
              "no device '" + std::string(id) + "' (available: " + known + ")");
}

Device cpu_device() { return devices().front(); }

}  // namespace tandem
