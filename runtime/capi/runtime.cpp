// The C API's runtime half: versions, status names, the per-thread last error, the runtime handle
// (allowed devices, memory limit, log sink).
#include <algorithm>
#include <cstring>
#include <sstream>

#include "capi.h"
#include "tandem/log.h"

namespace tandem::capi {
namespace {
thread_local std::string last_error;
}  // namespace

tandem_status fail(tandem_status status, const std::string& message) {
  try {
    last_error = message;
  } catch (...) {  // no memory for the message: the status still says what kind of failure
    last_error.clear();
  }
  return status;
}

tandem_status status_of(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_argument:
      return TANDEM_ERROR_INVALID_ARGUMENT;
    case ErrorKind::io:
      return TANDEM_ERROR_IO;
    case ErrorKind::out_of_memory:
      return TANDEM_ERROR_OUT_OF_MEMORY;
    case ErrorKind::unsupported:
      return TANDEM_ERROR_UNSUPPORTED;
    case ErrorKind::device:
    case ErrorKind::communication:
    case ErrorKind::timeout:
      return TANDEM_ERROR_DEVICE;
    case ErrorKind::internal:
      return TANDEM_ERROR_INTERNAL;
  }
  return TANDEM_ERROR_INTERNAL;
}

namespace {

// "cuda:0, cpu:0" → the devices, in that order; "best" sorts what is allowed by nominal f32 peak.
std::vector<Device> allowed_devices(const char* list) {
  std::vector<Device> found = devices();
  if (list == nullptr || *list == '\0') return found;
  std::vector<Device> out;
  bool best = false;
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) continue;
    if (item == "best") {
      best = true;
      continue;
    }
    const Device d = find_device(item);  // Error naming the devices that exist
    if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  }
  if (out.empty()) out = found;
  if (best)
    std::stable_sort(out.begin(), out.end(), [](const Device& a, const Device& b) {
      return a.props().peak_flops_f32 > b.props().peak_flops_f32;
    });
  return out;
}

}  // namespace
}  // namespace tandem::capi

using namespace tandem;
using capi::fail;
using capi::guarded;

extern "C" {

const char* tandem_version(void) { return TANDEM_VERSION; }

uint32_t tandem_abi_version(void) { return TANDEM_ABI_VERSION; }

const char* tandem_status_name(tandem_status status) {
  // A C caller may pass any int (the tests pass 99); in C++ an enum value outside the
  // enumerators' range is undefined (clang's UBSan reports the load), so read the bits as int.
  int code;
  std::memcpy(&code, &status, sizeof code);
  switch (code) {
    case TANDEM_OK:
      return "TANDEM_OK";
    case TANDEM_ERROR_INVALID_ARGUMENT:
      return "TANDEM_ERROR_INVALID_ARGUMENT";
    case TANDEM_ERROR_IO:
      return "TANDEM_ERROR_IO";
    case TANDEM_ERROR_NO_DEVICE:
      return "TANDEM_ERROR_NO_DEVICE";
    case TANDEM_ERROR_OUT_OF_MEMORY:
      return "TANDEM_ERROR_OUT_OF_MEMORY";
    case TANDEM_ERROR_UNSUPPORTED:
      return "TANDEM_ERROR_UNSUPPORTED";
    case TANDEM_ERROR_DEVICE:
      return "TANDEM_ERROR_DEVICE";
    case TANDEM_ERROR_INTERNAL:
      return "TANDEM_ERROR_INTERNAL";
  }
  return "unknown status";
}

const char* tandem_last_error(void) { return capi::last_error.c_str(); }

void tandem_runtime_options_init(tandem_runtime_options* options) {
  if (options == nullptr) return;
  std::memset(options, 0, sizeof *options);
  options->struct_size = sizeof *options;
  options->log_level = TANDEM_LOG_WARN;
}

tandem_status tandem_runtime_create(const tandem_runtime_options* options, tandem_runtime** runtime) {
  static const char* fn = "tandem_runtime_create";
  TANDEM_C_REQUIRE(runtime, fn, "runtime (the output)");
  *runtime = nullptr;
  tandem_runtime_options o;
  tandem_runtime_options_init(&o);
  if (options != nullptr) {
    // An older program's struct is a prefix of ours: take what it has, defaults for the rest.
    if (options->struct_size < offsetof(tandem_runtime_options, devices) || options->struct_size > sizeof o)
      return fail(TANDEM_ERROR_INVALID_ARGUMENT, std::string(fn) + ": options->struct_size is " +
                                                     std::to_string(options->struct_size) +
                                                     " (call tandem_runtime_options_init first)");
    std::memcpy(&o, options, options->struct_size);
  }
  // C lets a program store any int in the enum; C++ may load only the enum's own range (0..7
  // here), so the field is read as the int it is.
  int log_level = 0;
  static_assert(sizeof log_level == sizeof o.log_level);
  std::memcpy(&log_level, &o.log_level, sizeof log_level);
  if (log_level < TANDEM_LOG_TRACE || log_level > TANDEM_LOG_OFF)
    return fail(TANDEM_ERROR_INVALID_ARGUMENT,
                std::string(fn) + ": log_level " + std::to_string(log_level) + " is not a level");
  return guarded(fn, [&] {
    auto rt = std::make_unique<tandem_runtime>();
    try {
      rt->devices = capi::allowed_devices(o.devices);
    } catch (const Error& e) {
      return fail(TANDEM_ERROR_NO_DEVICE, std::string(fn) + ": " + e.what());
    }
    rt->memory_limit = o.memory_limit_bytes;
    set_log_level(static_cast<LogLevel>(log_level));
    if (o.log != nullptr) {
      const tandem_log_fn sink = o.log;
      void* user = o.log_user;
      set_log_sink([sink, user](LogLevel level, std::string_view message) {
        const std::string line(message);
        sink(static_cast<tandem_log_level>(level), line.c_str(), user);
      });
      rt->owns_log = true;
    }
    *runtime = rt.release();
    return TANDEM_OK;
  });
}

void tandem_runtime_destroy(tandem_runtime* runtime) {
  if (runtime == nullptr) return;
  if (runtime->owns_log) set_log_sink({});
  delete runtime;
}

tandem_status tandem_runtime_device_count(const tandem_runtime* runtime, size_t* count) {
  static const char* fn = "tandem_runtime_device_count";
  TANDEM_C_REQUIRE(runtime, fn, "runtime");
  TANDEM_C_REQUIRE(count, fn, "count");
  *count = runtime->devices.size();
  return TANDEM_OK;
}

tandem_status tandem_runtime_device_name(const tandem_runtime* runtime, size_t index, char* name, size_t size,
                                         size_t* required) {
  static const char* fn = "tandem_runtime_device_name";
  TANDEM_C_REQUIRE(runtime, fn, "runtime");
  if (index >= runtime->devices.size())
    return fail(TANDEM_ERROR_INVALID_ARGUMENT, std::string(fn) + ": index " + std::to_string(index) +
                                                   " is past the runtime's " + std::to_string(runtime->devices.size()) +
                                                   " devices");
  return guarded(fn, [&] {
    const std::string id = runtime->devices[index].id();
    if (required != nullptr) *required = id.size() + 1;
    if (name == nullptr || size < id.size() + 1)
      return fail(TANDEM_ERROR_INVALID_ARGUMENT, std::string(fn) + ": the name needs " + std::to_string(id.size() + 1) +
                                                     " bytes, the buffer has " + std::to_string(name ? size : 0));
    std::memcpy(name, id.c_str(), id.size() + 1);
    return TANDEM_OK;
  });
}

}  // extern "C"
