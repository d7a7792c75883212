// The opencl backend: one device per OpenCL device any installed ICD reports (PoCL's CPU device
// in CI; GPUs, Intel, XRT's OpenCL elsewhere). Kernels are OpenCL C (ops/*.cl), embedded in
// the library and built per device at first use. With no platform or no device the backend has
// zero devices, which is not an error; TANDEM_OPENCL=none switches it off.
#pragma once

#include <memory>
#include <string>

#include "tandem/backend.h"

namespace tandem::opencl {

/// The backend over every OpenCL device found (none when TANDEM_OPENCL=none).
std::unique_ptr<Backend> make_opencl_backend();

/// Programs built so far on an opencl device (each embedded file is built once per device and
/// process); for tests of the program cache. Throws Error(invalid_argument) for another device.
int program_builds(const DeviceImpl& device);

/// Builds OpenCL C source on the device outside the cache, returning the number of kernels in
/// it; a compile error throws Error(device) with the build log. For tests and diagnostics.
int build_source(DeviceImpl& device, const std::string& name, const std::string& source);

}  // namespace tandem::opencl
