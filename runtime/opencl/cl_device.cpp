#include "cl_device.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

namespace tandem::opencl {
namespace {

std::string info_string(cl_device_id d, cl_device_info what) {
  size_t size = 0;
  if (clGetDeviceInfo(d, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "";
  std::string s(size, '\0');
  clGetDeviceInfo(d, what, size, s.data(), nullptr);
  while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
  return s;
}

template <class T>
T info(cl_device_id d, cl_device_info what) {
  T v{};
  clGetDeviceInfo(d, what, sizeof(T), &v, nullptr);
  return v;
}

DeviceProps props_of(cl_platform_id platform, cl_device_id d) {
  DeviceProps p;
  p.name = info_string(d, CL_DEVICE_NAME);
  p.memory_bytes = info<cl_ulong>(d, CL_DEVICE_GLOBAL_MEM_SIZE);
  p.compute_units = static_cast<int>(info<cl_uint>(d, CL_DEVICE_MAX_COMPUTE_UNITS));
  // Nominal peak: units × clock × a multiply-add per lane of the preferred float vector. A
  // lower bound on wide-SIMD devices, and 0 where the clock is not reported.
  const double hz = info<cl_uint>(d, CL_DEVICE_MAX_CLOCK_FREQUENCY) * 1e6;
  const double lanes = std::max<cl_uint>(1, info<cl_uint>(d, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT));
  p.peak_flops_f32 = 2.0 * p.compute_units * hz * lanes;
  size_t size = 0;
  std::string platform_name;
  if (clGetPlatformInfo(platform, CL_PLATFORM_NAME, 0, nullptr, &size) == CL_SUCCESS && size > 0) {
    platform_name.resize(size);
    clGetPlatformInfo(platform, CL_PLATFORM_NAME, size, platform_name.data(), nullptr);
    platform_name.resize(std::strlen(platform_name.c_str()));
  }
  p.driver = platform_name + ", " + info_string(d, CL_DEVICE_VERSION) + ", driver " + info_string(d, CL_DRIVER_VERSION);
  p.host_accessible = false;  // buffers are cl_mem objects: data moves by copies
  p.modeled = false;
  return p;
}

void check(cl_int err, const std::string& device, const char* op, const std::string& what) {
  if (err != CL_SUCCESS) throw Error(ErrorKind::device, device, op, what + " failed: " + cl_error_name(err));
}

}  // namespace

std::string cl_error_name(cl_int err) {
  static const std::map<cl_int, const char*> names = {
      {CL_DEVICE_NOT_FOUND, "CL_DEVICE_NOT_FOUND"},
      {CL_OUT_OF_RESOURCES, "CL_OUT_OF_RESOURCES"},
      {CL_OUT_OF_HOST_MEMORY, "CL_OUT_OF_HOST_MEMORY"},
      {CL_MEM_OBJECT_ALLOCATION_FAILURE, "CL_MEM_OBJECT_ALLOCATION_FAILURE"},
      {CL_BUILD_PROGRAM_FAILURE, "CL_BUILD_PROGRAM_FAILURE"},
      {CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST, "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST"},
      {CL_INVALID_VALUE, "CL_INVALID_VALUE"},
      {CL_INVALID_MEM_OBJECT, "CL_INVALID_MEM_OBJECT"},
      {CL_INVALID_BUFFER_SIZE, "CL_INVALID_BUFFER_SIZE"},
      {CL_INVALID_KERNEL_NAME, "CL_INVALID_KERNEL_NAME"},
      {CL_INVALID_ARG_INDEX, "CL_INVALID_ARG_INDEX"},
      {CL_INVALID_ARG_SIZE, "CL_INVALID_ARG_SIZE"},
      {CL_INVALID_KERNEL_ARGS, "CL_INVALID_KERNEL_ARGS"},
      {CL_INVALID_WORK_GROUP_SIZE, "CL_INVALID_WORK_GROUP_SIZE"},
      {CL_INVALID_WORK_ITEM_SIZE, "CL_INVALID_WORK_ITEM_SIZE"},
      {CL_INVALID_GLOBAL_WORK_SIZE, "CL_INVALID_GLOBAL_WORK_SIZE"},
      {CL_MEM_COPY_OVERLAP, "CL_MEM_COPY_OVERLAP"},
  };
  const auto it = names.find(err);
  return std::string(it == names.end() ? "OpenCL error" : it->second) + " (" + std::to_string(err) + ")";
}

ClQueue::ClQueue(cl_context ctx, cl_device_id dev, const std::string& device_id) : device_id_(device_id) {
  cl_int err = CL_SUCCESS;
  queue_ = clCreateCommandQueue(ctx, dev, 0, &err);  // in order: a stream's work runs in sequence
  check(err, device_id_, "stream", "clCreateCommandQueue");
}

ClQueue::~ClQueue() {
  if (queue_ != nullptr) {
    clFinish(queue_);
    clReleaseCommandQueue(queue_);
  }
}

void ClQueue::finish(const char* what) { check(clFinish(queue_), device_id_, what, "clFinish"); }

ClDevice::ClDevice(int index, cl_platform_id platform, cl_device_id dev)
    : DeviceImpl(DeviceKind::opencl, index, props_of(platform, dev)), device_(dev) {
  cl_int err = CL_SUCCESS;
  context_ = clCreateContext(nullptr, 1, &device_, nullptr, nullptr, &err);
  check(err, id(), "init", "clCreateContext");
  copy_queue_ = std::make_unique<ClQueue>(context_, device_, id());
  tile_ = info<size_t>(dev, CL_DEVICE_MAX_WORK_GROUP_SIZE) >= 256 ? 16 : 8;
  fp64_ = info<cl_device_fp_config>(dev, CL_DEVICE_DOUBLE_FP_CONFIG) != 0;
  register_kernels(opencl_kernels());
}

ClDevice::~ClDevice() {
  copy_queue_.reset();
  for (auto& [name, p] : programs_) clReleaseProgram(p);
  if (context_ != nullptr) clReleaseContext(context_);
}

std::unique_ptr<DeviceBuffer> ClDevice::allocate(size_t bytes) {
  const size_t size = bytes == 0 ? 64 : bytes;  // OpenCL rejects empty buffers
  cl_int err = CL_SUCCESS;
  cl_mem mem = clCreateBuffer(context_, CL_MEM_READ_WRITE, size, nullptr, &err);
  if (err != CL_SUCCESS)
    throw Error(ErrorKind::out_of_memory, id(), "allocate",
                "cannot allocate " + std::to_string(bytes) + " bytes: " + cl_error_name(err));
  return std::make_unique<ClBuffer>(mem, bytes);
}

void ClDevice::finish_streams(const char* what) {
  std::vector<std::shared_ptr<ClQueue>> live;
  {
    std::lock_guard lock(mutex_);
    std::erase_if(queues_, [](const std::weak_ptr<ClQueue>& q) { return q.expired(); });
    for (auto& q : queues_)
      if (auto s = q.lock()) live.push_back(std::move(s));
  }
  for (auto& q : live) q->finish(what);
}

void ClDevice::memset(const DeviceBuffer& dst, size_t offset, int value, size_t bytes) {
  if (bytes == 0) return;
  const ClRef d = cl_ref(dst, offset);
  finish_streams("memset");
  const auto pattern = static_cast<unsigned char>(value);
  check(clEnqueueFillBuffer(copy_queue_->get(), d.mem, &pattern, 1, d.offset, bytes, 0, nullptr, nullptr), id(),
        "memset", "clEnqueueFillBuffer");
  copy_queue_->finish("memset");
}

void ClDevice::copy_from_host(const DeviceBuffer& dst, size_t offset, const void* src, size_t bytes) {
  if (bytes == 0) return;
  const ClRef d = cl_ref(dst, offset);
  finish_streams("copy from host");
  check(clEnqueueWriteBuffer(copy_queue_->get(), d.mem, CL_TRUE, d.offset, bytes, src, 0, nullptr, nullptr), id(),
        "copy from host", "clEnqueueWriteBuffer");
}

void ClDevice::copy_to_host(void* dst, const DeviceBuffer& src, size_t offset, size_t bytes) {
  if (bytes == 0) return;
  const ClRef s = cl_ref(src, offset);
  finish_streams("copy to host");
  check(clEnqueueReadBuffer(copy_queue_->get(), s.mem, CL_TRUE, s.offset, bytes, dst, 0, nullptr, nullptr), id(),
        "copy to host", "clEnqueueReadBuffer");
}

void ClDevice::copy_on_device(const DeviceBuffer& dst, size_t dst_offset, const DeviceBuffer& src, size_t src_offset,
                              size_t bytes) {
  const ClRef d = cl_ref(dst, dst_offset), s = cl_ref(src, src_offset);
  if (bytes == 0 || (d.mem == s.mem && d.offset == s.offset)) return;
  finish_streams("copy on device");
  const bool overlap = d.mem == s.mem && d.offset < s.offset + bytes && s.offset < d.offset + bytes;
  if (overlap) {  // OpenCL forbids overlapping copies: go through the host, as memmove would
    std::vector<unsigned char> staging(bytes);
    copy_to_host(staging.data(), src, src_offset, bytes);
    copy_from_host(dst, dst_offset, staging.data(), bytes);
    return;
  }
  check(clEnqueueCopyBuffer(copy_queue_->get(), s.mem, d.mem, s.offset, d.offset, bytes, 0, nullptr, nullptr), id(),
        "copy on device", "clEnqueueCopyBuffer");
  copy_queue_->finish("copy on device");
}

std::shared_ptr<StreamImpl> ClDevice::create_stream() {
  auto q = std::make_shared<ClQueue>(context_, device_, id());
  std::lock_guard lock(mutex_);
  queues_.push_back(q);
  return std::make_shared<ClStream>(*this, std::move(q));
}

cl_program ClDevice::build(const std::string& name, const std::string& source) {
  const char* text = source.c_str();
  cl_int err = CL_SUCCESS;
  cl_program p = clCreateProgramWithSource(context_, 1, &text, nullptr, &err);
  check(err, id(), "build", "clCreateProgramWithSource(" + name + ")");
  // Correctly rounded division and sqrt: quantization divides by the unit and must match the
  // CPU bit for bit. No fast-math options, for the same reason.
  const std::string options = "-cl-fp32-correctly-rounded-divide-sqrt -DTILE=" + std::to_string(tile_);
  err = clBuildProgram(p, 1, &device_, options.c_str(), nullptr, nullptr);
  if (err != CL_SUCCESS) {
    size_t size = 0;
    clGetProgramBuildInfo(p, device_, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size);
    std::string log(size, '\0');
    clGetProgramBuildInfo(p, device_, CL_PROGRAM_BUILD_LOG, size, log.data(), nullptr);
    log.resize(std::strlen(log.c_str()));
    clReleaseProgram(p);
    throw Error(ErrorKind::device, id(), "build",
                "OpenCL program " + name + " does not compile (" + cl_error_name(err) + "):\n" + log);
  }
  return p;
}

cl_program ClDevice::program(const std::string& name) {
  std::lock_guard lock(program_mutex_);
  if (auto it = programs_.find(name); it != programs_.end()) return it->second;
  const char* source = embedded_source(name);
  if (source == nullptr) throw Error(ErrorKind::internal, id(), "build", "no embedded ops/" + name + ".cl");
  cl_program p = build(name, std::string(embedded_source("common")) + source);
  ++builds_;
  programs_.emplace(name, p);
  return p;
}

KernelList& opencl_kernels() {
  static KernelList list;
  return list;
}

}  // namespace tandem::opencl
