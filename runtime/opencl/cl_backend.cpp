// Streams and events over command queues, kernel launches, and the backend's device discovery.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <tuple>

#include "cl_device.h"
#include "opencl_backend.h"
#include "tandem/log.h"

namespace tandem::opencl {
namespace {

class ClEvent final : public EventImpl {
 public:
  explicit ClEvent(cl_event e) : event_(e) {}
  ~ClEvent() override { clReleaseEvent(event_); }
  cl_event get() const { return event_; }
  bool ready() override {
    cl_int status = CL_QUEUED;
    clGetEventInfo(event_, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, nullptr);
    return status <= CL_COMPLETE;  // complete, or failed (negative): either way nothing more will run
  }
  bool wait_for(std::chrono::nanoseconds timeout) override {
    // OpenCL has no timed wait: poll, backing off to 1 ms.
    const auto end = std::chrono::steady_clock::now() + timeout;
    auto nap = std::chrono::microseconds(10);
    while (!ready()) {
      if (std::chrono::steady_clock::now() >= end) return false;
      std::this_thread::sleep_for(nap);
      nap = std::min<std::chrono::microseconds>(nap * 2, std::chrono::milliseconds(1));
    }
    return true;
  }

 private:
  cl_event event_;
};

}  // namespace

ClStream::~ClStream() {
  try {
    queue_->finish("stream release");  // queued writes still read their staging
  } catch (const Error&) {
  }
  release_completed(true);
}

void ClStream::synchronize() {
  queue_->finish("synchronize");
  release_completed(true);
}

void ClStream::release_completed(bool all) {
  std::lock_guard lock(staged_mutex_);
  std::erase_if(staged_, [all](Staged& s) {
    cl_int status = CL_QUEUED;
    clGetEventInfo(s.done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, nullptr);
    const bool finished = all || status == CL_COMPLETE || status < 0;
    if (finished) clReleaseEvent(s.done);
    return finished;
  });
}

bool ClStream::copy_from_host(const DeviceBuffer& dst, size_t offset, const void* src, size_t bytes) {
  if (bytes == 0) return true;
  release_completed(false);
  Staged s{nullptr, std::vector<unsigned char>(static_cast<const unsigned char*>(src),
                                               static_cast<const unsigned char*>(src) + bytes)};
  const ClRef d = cl_ref(dst, offset);
  const cl_int err =
      clEnqueueWriteBuffer(queue(), d.mem, CL_FALSE, d.offset, bytes, s.bytes.data(), 0, nullptr, &s.done);
  if (err != CL_SUCCESS)
    throw Error(ErrorKind::device, device_.id(), "copy from host", "clEnqueueWriteBuffer failed: " + cl_error_name(err));
  clFlush(queue());
  std::lock_guard lock(staged_mutex_);
  staged_.push_back(std::move(s));
  return true;
}

bool ClStream::copy_to_host(void* dst, const DeviceBuffer& src, size_t offset, size_t bytes) {
  if (bytes == 0) return true;
  const ClRef s = cl_ref(src, offset);
  const cl_int err = clEnqueueReadBuffer(queue(), s.mem, CL_FALSE, s.offset, bytes, dst, 0, nullptr, nullptr);
  if (err != CL_SUCCESS)
    throw Error(ErrorKind::device, device_.id(), "copy to host", "clEnqueueReadBuffer failed: " + cl_error_name(err));
  clFlush(queue());
  return true;
}

std::shared_ptr<EventImpl> ClStream::record() {
  cl_event e = nullptr;
  const cl_int err = clEnqueueMarkerWithWaitList(queue(), 0, nullptr, &e);
  if (err != CL_SUCCESS)
    throw Error(ErrorKind::device, device_.id(), "record", "clEnqueueMarkerWithWaitList failed: " + cl_error_name(err));
  clFlush(queue());  // so that a host waiting on the event sees progress
  return std::make_shared<ClEvent>(e);
}

void ClStream::wait(EventImpl& event) {
  if (auto* e = dynamic_cast<ClEvent*>(&event)) {
    cl_context ctx = nullptr;
    clGetEventInfo(e->get(), CL_EVENT_CONTEXT, sizeof(ctx), &ctx, nullptr);
    if (ctx == device_.context()) {  // same context: the device orders the work itself
      cl_event ev = e->get();
      const cl_int err = clEnqueueBarrierWithWaitList(queue(), 1, &ev, nullptr);
      if (err != CL_SUCCESS)
        throw Error(ErrorKind::device, device_.id(), "wait",
                    "clEnqueueBarrierWithWaitList failed: " + cl_error_name(err));
      return;
    }
  }
  event.wait_for(std::chrono::hours(24));  // another device's event: the host waits
}

ClStream& cl_stream(const OpCall& call) { return *static_cast<ClStream*>(call.stream); }
ClDevice& cl_device(const OpCall& call) { return static_cast<ClDevice&>(call.device); }

void read_back(const OpCall& call, const Tensor& t, void* host) {
  if (t.nbytes() == 0) return;
  const ClRef r = cl_ref(t);
  const cl_int err =
      clEnqueueReadBuffer(cl_stream(call).queue(), r.mem, CL_TRUE, r.offset, t.nbytes(), host, 0, nullptr, nullptr);
  if (err != CL_SUCCESS)
    throw Error(ErrorKind::device, call.device.id(), call.op.name, "reading back inputs: " + cl_error_name(err));
}

namespace {

// Kernel objects, created once per thread, device and kernel: clCreateKernel costs more than
// the rest of a small launch (BENCHMARKS.md, "Dispatch overhead"), and OpenCL captures a
// kernel's arguments when it is enqueued, so one object serves launch after launch. Per thread,
// because clSetKernelArg on one object from two threads races; an object still being set up by
// an enclosing Launch on this thread is not handed out twice (a fresh one is made instead).
struct KernelCache {
  struct Entry {
    cl_kernel kernel = nullptr;
    bool busy = false;
  };
  std::map<std::tuple<const ClDevice*, std::string, std::string>, Entry> entries;
  ~KernelCache() {
    for (auto& [key, e] : entries) clReleaseKernel(e.kernel);
  }
};
thread_local KernelCache kernel_cache;

cl_kernel create_kernel(const OpCall& call, const char* program, const char* kernel) {
  cl_int err = CL_SUCCESS;
  cl_kernel k = clCreateKernel(cl_device(call).program(program), kernel, &err);
  if (err != CL_SUCCESS)
    throw Error(ErrorKind::device, call.device.id(), call.op.name,
                std::string("kernel ") + kernel + " of " + program + ".cl: " + cl_error_name(err));
  return k;
}

}  // namespace

Launch::Launch(const OpCall& call, const char* program, const char* kernel)
    : call_(call), stream_(cl_stream(call)), name_(kernel) {
  auto& e = kernel_cache.entries[{&cl_device(call), program, kernel}];
  if (e.kernel == nullptr) e.kernel = create_kernel(call, program, kernel);
  if (e.busy) {
    kernel_ = create_kernel(call, program, kernel);
    owned_ = true;
  } else {
    kernel_ = e.kernel;
    e.busy = true;
    busy_ = &e.busy;
  }
}

Launch::~Launch() {
  if (owned_) clReleaseKernel(kernel_);
  if (busy_ != nullptr) *busy_ = false;
}

void Launch::set(size_t size, const void* value) {
  const cl_int err = clSetKernelArg(kernel_, next_, size, value);
  if (err != CL_SUCCESS)
    throw Error(ErrorKind::internal, call_.device.id(), call_.op.name,
                "kernel " + name_ + " argument " + std::to_string(next_) + ": " + cl_error_name(err));
  ++next_;
}

Launch& Launch::arg(const Tensor& t) {
  const ClRef r = cl_ref(t);
  const size_t es = dtype_size(t.dtype());
  // Kernels index from the view's first element; a view not aligned to its element cannot be one.
  if (r.offset % es != 0)
    call_.unsupported("tensor view at byte offset " + std::to_string(r.offset) + " is misaligned");
  set(sizeof(cl_mem), &r.mem);
  return scalar<cl_ulong>(r.offset / es);
}

Launch& Launch::arg(cl_mem mem) {
  set(sizeof(cl_mem), &mem);
  return scalar<cl_ulong>(0);
}

void Launch::run(std::vector<size_t> global, std::vector<size_t> local) {
  for (size_t g : global)
    if (g == 0) return;  // nothing to do (OpenCL 1.2 rejects empty ranges)
  for (size_t i = 0; i < local.size(); ++i) global[i] = (global[i] + local[i] - 1) / local[i] * local[i];
  const cl_int err = clEnqueueNDRangeKernel(stream_.queue(), kernel_, static_cast<cl_uint>(global.size()), nullptr,
                                            global.data(), local.empty() ? nullptr : local.data(), 0, nullptr, nullptr);
  if (err != CL_SUCCESS)
    throw Error(ErrorKind::device, call_.device.id(), call_.op.name,
                "clEnqueueNDRangeKernel(" + name_ + ") failed: " + cl_error_name(err));
}

Scratch::Scratch(const OpCall& call, size_t bytes) {
  cl_int err = CL_SUCCESS;
  mem_ = clCreateBuffer(cl_device(call).context(), CL_MEM_READ_WRITE, std::max<size_t>(bytes, 64), nullptr, &err);
  if (err != CL_SUCCESS)
    throw Error(ErrorKind::out_of_memory, call.device.id(), call.op.name,
                "scratch of " + std::to_string(bytes) + " bytes: " + cl_error_name(err));
}

Scratch::~Scratch() {
  if (mem_ != nullptr) clReleaseMemObject(mem_);
}

namespace {

class ClBackend final : public Backend {
 public:
  ClBackend() {
    const char* env = std::getenv("TANDEM_OPENCL");
    if (env != nullptr && std::string(env) == "none") return;
    cl_uint np = 0;
    if (clGetPlatformIDs(0, nullptr, &np) != CL_SUCCESS || np == 0) return;  // no ICD: no devices
    std::vector<cl_platform_id> platforms(np);
    clGetPlatformIDs(np, platforms.data(), nullptr);
    for (cl_platform_id p : platforms) {
      cl_uint nd = 0;
      if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, nullptr, &nd) != CL_SUCCESS || nd == 0) continue;
      std::vector<cl_device_id> ids(nd);
      clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, nd, ids.data(), nullptr);
      for (cl_device_id d : ids) {
        try {
          devices_.push_back(std::make_unique<ClDevice>(static_cast<int>(devices_.size()), p, d));
        } catch (const Error& e) {  // one broken device leaves the others usable
          TANDEM_LOG(error, e.what() << " (OpenCL device skipped)");
        }
      }
    }
  }
  std::string name() const override { return "opencl"; }
  std::string version() const override {
    return devices_.empty() ? "OpenCL (no device)" : "OpenCL: " + devices_.front()->props().driver;
  }
  std::vector<DeviceImpl*> devices() override {
    std::vector<DeviceImpl*> out;
    for (auto& d : devices_) out.push_back(d.get());
    return out;
  }

 private:
  std::vector<std::unique_ptr<ClDevice>> devices_;
};

const ClDevice& as_cl(const DeviceImpl& d) {
  if (d.kind() != DeviceKind::opencl)
    throw Error(ErrorKind::invalid_argument, d.id(), "opencl", "not an opencl device");
  return static_cast<const ClDevice&>(d);
}

}  // namespace

std::unique_ptr<Backend> make_opencl_backend() { return std::make_unique<ClBackend>(); }

int program_builds(const DeviceImpl& device) { return as_cl(device).program_builds(); }

int build_source(DeviceImpl& device, const std::string& name, const std::string& source) {
  ClDevice& d = const_cast<ClDevice&>(as_cl(device));
  cl_program p = d.build(name, source);
  size_t n = 0;  // a size_t query, unlike most counts
  clGetProgramInfo(p, CL_PROGRAM_NUM_KERNELS, sizeof(n), &n, nullptr);
  clReleaseProgram(p);
  return static_cast<int>(n);
}

}  // namespace tandem::opencl
