#include "cpu_backend.h"

#include <cblas.h>
#include <omp.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "kernels.h"
#include "tandem/blas.h"
#include "tandem/error.h"

namespace tandem::cpu {
namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "host CPU";
}

double cpu_clock_hz() {
  std::ifstream maxf("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
  double khz = 0;
  if (maxf >> khz && khz > 0) return khz * 1e3;
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("cpu MHz", 0) == 0) return std::strtod(line.substr(line.find(':') + 1).c_str(), nullptr) * 1e6;
  return 0;
}

// Nominal f32 peak: cores × clock × FLOPs per cycle of the widest FMA the CPU has (two FMA
// pipes per core assumed, as on current x86 server cores). A spec figure, not a measurement.
double nominal_peak_flops(int cores) {
  int per_cycle = 8;  // SSE: 4 lanes × mul+add
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f"))
    per_cycle = 64;
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    per_cycle = 32;
  else if (__builtin_cpu_supports("avx"))
    per_cycle = 16;
#endif
  return cores * cpu_clock_hz() * per_cycle;
}

// The CPU device uses every core, so it sits on NUMA node 0 only when that is the only node;
// on a multi-node machine it spans them all (-1). Placement by node arrives with hwloc.
int numa_node_of_all_cores() {
  std::ifstream in("/sys/devices/system/node/online");
  std::string online;
  if (!(in >> online)) return -1;
  return online == "0" ? 0 : -1;
}

DeviceProps host_props() {
  DeviceProps p;
  p.name = cpu_model_name();
  p.memory_bytes = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  p.compute_units = omp_get_max_threads();
  p.peak_flops_f32 = nominal_peak_flops(p.compute_units);
  p.peak_flops_f16 = p.peak_flops_f32;  // f16/bf16 are computed in f32 here
  p.numa_node = numa_node_of_all_cores();
  p.driver = openblas_get_config();
  p.slowdown = blas_kernels().warning();
  p.host_accessible = true;
  p.modeled = false;
  return p;
}

class CpuDevice final : public DeviceImpl {
 public:
  CpuDevice() : DeviceImpl(DeviceKind::cpu, 0, host_props()) { register_kernels(cpu_kernels()); }

  std::unique_ptr<DeviceBuffer> allocate(size_t bytes) override { return host_buffer(bytes, id()); }
  void memset(const DeviceBuffer& dst, size_t offset, int value, size_t bytes) override {
    std::memset(dst.at(offset), value, bytes);
  }
  void copy_from_host(const DeviceBuffer& dst, size_t offset, const void* src, size_t bytes) override {
    std::memmove(dst.at(offset), src, bytes);
  }
  void copy_to_host(void* dst, const DeviceBuffer& src, size_t offset, size_t bytes) override {
    std::memmove(dst, src.at(offset), bytes);
  }
  void copy_on_device(const DeviceBuffer& dst, size_t dst_offset, const DeviceBuffer& src, size_t src_offset,
                      size_t bytes) override {
    std::memmove(dst.at(dst_offset), src.at(src_offset), bytes);
  }
  std::shared_ptr<StreamImpl> create_stream() override { return make_inline_stream(); }
};

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::string version() const override {
    return std::string(openblas_get_config()) + "; OpenMP " + std::to_string(_OPENMP) + ", " +
           std::to_string(omp_get_max_threads()) + " threads";
  }
  std::vector<DeviceImpl*> devices() override { return {&device_}; }

 private:
  CpuDevice device_;
};

}  // namespace

std::unique_ptr<Backend> make_backend() { return std::make_unique<CpuBackend>(); }

KernelList& cpu_kernels() {
  static KernelList list;
  return list;
}

}  // namespace tandem::cpu

namespace tandem {

int set_cpu_threads(int n) {
  if (n < 1) throw Error(ErrorKind::invalid_argument, "cpu:0", "set threads", std::to_string(n) + " threads");
  const int previous = omp_get_max_threads();
  omp_set_num_threads(n);
  return previous;
}

}  // namespace tandem
