// Per-op host overhead of the OpenCL backend: a small axpy through ops::axpy (validation, kernel
// lookup, argument binding, enqueue) against the same kernel enqueued through the bare OpenCL API
// on the same device, in the same run. Each figure is the median µs per op over many; "+ finish"
// waits for each op (round trip), "queued" enqueues `batch` ops and waits once (host cost only).
//   bench_opencl_dispatch [runs]
#include <CL/cl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "tandem/ops.h"
#include "tandem/device.h"

namespace {

using namespace tandem;

constexpr int kBatch = 64;
constexpr size_t kElems = 1024;

double median_us(int runs, int per_run, const std::function<void()>& once) {
  for (int i = 0; i < 20; ++i) once();  // warm-up: program builds, first launches
  std::vector<double> t(static_cast<size_t>(runs));
  for (double& x : t) {
    const auto start = std::chrono::steady_clock::now();
    once();
    x = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / per_run;
  }
  std::nth_element(t.begin(), t.begin() + runs / 2, t.end());
  return t[static_cast<size_t>(runs / 2)];
}

void require(cl_int err, const char* what) {
  if (err != CL_SUCCESS) {
    std::fprintf(stderr, "bench_opencl_dispatch: %s failed (%d)\n", what, err);
    std::exit(1);
  }
}

// The bare API: the first device of the first platform (what opencl:0 is by default), one
// buffer pair, one kernel with its arguments set once per launch as a careful host would.
struct Bare {
  cl_context ctx = nullptr;
  cl_command_queue q = nullptr;
  cl_kernel k = nullptr;
  cl_mem x = nullptr, y = nullptr;
  std::string device_name;

  Bare() {
    cl_platform_id platform;
    cl_device_id device;
    require(clGetPlatformIDs(1, &platform, nullptr), "clGetPlatformIDs");
    require(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, nullptr), "clGetDeviceIDs");
    char name[256] = {};
    clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof name - 1, name, nullptr);
    device_name = name;
    cl_int err;
    ctx = clCreateContext(nullptr, 1, &device, nullptr, nullptr, &err);
    require(err, "clCreateContext");
    q = clCreateCommandQueue(ctx, device, 0, &err);
    require(err, "clCreateCommandQueue");
    const char* src =
        "kernel void axpy(global const float* x, global float* y, const float a, const ulong n) {"
        "  const size_t i = get_global_id(0); if (i < n) y[i] += a * x[i]; }";
    cl_program p = clCreateProgramWithSource(ctx, 1, &src, nullptr, &err);
    require(err, "clCreateProgramWithSource");
    require(clBuildProgram(p, 1, &device, "", nullptr, nullptr), "clBuildProgram");
    k = clCreateKernel(p, "axpy", &err);
    require(err, "clCreateKernel");
    clReleaseProgram(p);
    std::vector<float> zeros(kElems, 0.0f);
    x = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, kElems * 4, zeros.data(), &err);
    require(err, "clCreateBuffer");
    y = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, kElems * 4, zeros.data(), &err);
    require(err, "clCreateBuffer");
  }
  void enqueue() {
    const float a = 0.5f;
    const cl_ulong n = kElems;
    const size_t global = kElems;
    clSetKernelArg(k, 0, sizeof(cl_mem), &x);
    clSetKernelArg(k, 1, sizeof(cl_mem), &y);
    clSetKernelArg(k, 2, sizeof a, &a);
    clSetKernelArg(k, 3, sizeof n, &n);
    require(clEnqueueNDRangeKernel(q, k, 1, nullptr, &global, nullptr, 0, nullptr, nullptr), "enqueue");
  }
};

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(10, std::atoi(argv[1])) : 400;
  try {
    const Device dev = find_device("opencl:0");
    Stream s(dev);
    Tensor x = Tensor::zeros(dev, {static_cast<int64_t>(kElems)});
    Tensor y = Tensor::zeros(dev, {static_cast<int64_t>(kElems)});
    // Alternated, so that neither side gets the device's warmer state.
    double ours_rt = 0, ours_q = 0, bare_rt = 0, bare_q = 0;
    Bare bare;
    for (int round = 0; round < 2; ++round) {
      ours_rt += median_us(runs, 1, [&] {
        ops::axpy(s, 0.5f, x, y);
        s.synchronize();
      }) / 2;
      bare_rt += median_us(runs, 1, [&] {
        bare.enqueue();
        clFinish(bare.q);
      }) / 2;
      ours_q += median_us(runs, kBatch, [&] {
        for (int i = 0; i < kBatch; ++i) ops::axpy(s, 0.5f, x, y);
        s.synchronize();
      }) / 2;
      bare_q += median_us(runs, kBatch, [&] {
        for (int i = 0; i < kBatch; ++i) bare.enqueue();
        clFinish(bare.q);
      }) / 2;
    }
    std::printf("OpenCL device: %s; axpy of %zu f32, median µs per op, median over %d runs, mean of 2 alternated rounds\n\n", bare.device_name.c_str(),
                kElems, runs);
    std::printf("| path | + finish each, µs | queued (%d per finish), µs |\n|---|---|---|\n", kBatch);
    std::printf("| bare OpenCL: set args + clEnqueueNDRangeKernel | %.2f | %.2f |\n", bare_rt, bare_q);
    std::printf("| tandem ops::axpy on opencl:0 | %.2f | %.2f |\n", ours_rt, ours_q);
    std::printf("| tandem overhead (difference) | %.2f | %.2f |\n", ours_rt - bare_rt, ours_q - bare_q);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_opencl_dispatch: %s\n", e.what());
    return 1;
  }
  return 0;
}
