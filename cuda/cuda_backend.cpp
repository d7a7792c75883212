// Device discovery and properties, the backend, interop with NCCL, and peer copies.
#include "cuda_backend.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>

#include "cuda_device.h"
#include "interop.h"
#include "tandem/error.h"
#include "tandem/log.h"
#include "tandem/stream.h"

namespace tandem::cuda {
namespace {

std::string version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

std::string libraries() {
  int major = 0, minor = 0, patch = 0;
  cublasGetProperty(MAJOR_VERSION, &major);
  cublasGetProperty(MINOR_VERSION, &minor);
  cublasGetProperty(PATCH_LEVEL, &patch);
  const size_t dnn = cudnnGetVersion();  // 91900 for 9.19.0
  return "cuBLAS " + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch) + ", cuDNN " +
         std::to_string(dnn / 10000) + "." + std::to_string(dnn % 10000 / 100) + "." + std::to_string(dnn % 100);
}

std::string runtime_versions() {
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);  // 0 when no driver is installed
  return "CUDA runtime " + version_text(runtime) + ", driver " + (driver > 0 ? version_text(driver) : "none");
}

// FP32 lanes per SM (FMA units, two FLOPs per cycle each), from the arithmetic-throughput table
// of the CUDA C++ Programming Guide: 64 on GP100, Volta, Turing and GA100, 128 elsewhere since
// Maxwell (GA10x, Ada, Hopper, Blackwell).
int fp32_lanes(int major, int minor) {
  if ((major == 6 && minor == 0) || major == 7 || (major == 8 && minor == 0)) return 64;
  return major >= 5 ? 128 : 192;
}

// Dense f16 tensor-core FLOPs per SM per cycle with f32 accumulation, from NVIDIA's spec sheets
// (peak ÷ SMs ÷ boost clock): V100/T4 1024, A100 2048, H100 4096, B200 8192; GA10x/Ada/GB20x
// 1024 (data-center parts; GeForce parts accumulate in f32 at half that). 0: no tensor cores.
int f16_tensor_flops(int major, int minor) {
  if (major == 8 && minor == 0) return 2048;
  if (major == 9) return 4096;
  if (major == 10 || major == 11) return 8192;
  return major >= 7 ? 1024 : 0;
}

// "0000:3b:00.0" as hwloc and sysfs write it (CUDA gives "0000:3B:00.0").
std::string pci_address(int ordinal) {
  char id[64] = {};
  if (cudaDeviceGetPCIBusId(id, sizeof(id), ordinal) != cudaSuccess) {
    cudaGetLastError();
    return "";
  }
  unsigned domain = 0, bus = 0, dev = 0, fn = 0;
  if (std::sscanf(id, "%x:%x:%x.%x", &domain, &bus, &dev, &fn) != 4) return "";
  char out[32];
  std::snprintf(out, sizeof(out), "%04x:%02x:%02x.%x", domain, bus, dev, fn);
  return out;
}

int numa_node(const std::string& pci) {
  if (pci.empty()) return -1;
  std::ifstream in("/sys/bus/pci/devices/" + pci + "/numa_node");
  int node = -1;
  return in >> node ? node : -1;  // the file says -1 on machines without NUMA
}

DeviceProps props_of(int ordinal) {
  const std::string where = "cuda:" + std::to_string(ordinal);
  cudaDeviceProp p{};
  TANDEM_CUDA_CHECK(where, "init", cudaGetDeviceProperties(&p, ordinal));
  int clock_khz = 0, mem_khz = 0, bus_bits = 0;
  TANDEM_CUDA_CHECK(where, "init", cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, ordinal));
  TANDEM_CUDA_CHECK(where, "init", cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, ordinal));
  TANDEM_CUDA_CHECK(where, "init", cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, ordinal));
  DeviceProps d;
  d.name = p.name;
  d.memory_bytes = p.totalGlobalMem;
  d.compute_units = p.multiProcessorCount;
  // Nominal peaks (spec-sheet arithmetic, not measurements): SMs × boost clock × per-SM rate.
  const double sm_hz = static_cast<double>(p.multiProcessorCount) * clock_khz * 1e3;
  d.peak_flops_f32 = sm_hz * 2.0 * fp32_lanes(p.major, p.minor);
  const int tensor = f16_tensor_flops(p.major, p.minor);
  d.peak_flops_f16 = tensor > 0 ? sm_hz * tensor : d.peak_flops_f32;
  // Bus width × memory clock × 2 (double data rate).
  d.mem_bandwidth = bus_bits / 8.0 * mem_khz * 1e3 * 2.0;
  d.pci_address = pci_address(ordinal);
  d.numa_node = numa_node(d.pci_address);
  d.driver = runtime_versions() + ", sm_" + std::to_string(p.major) + std::to_string(p.minor) + "; " + libraries();
  d.host_accessible = false;  // device memory: data moves by copies
  d.modeled = false;
  return d;
}

class CudaBackend final : public Backend {
 public:
  CudaBackend() {
    const char* env = std::getenv("TANDEM_CUDA");
    if (env != nullptr && std::strcmp(env, "none") == 0) {
      why_none_ = "switched off by TANDEM_CUDA=none";
      return;
    }
    int n = 0;
    const cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess || n == 0) {  // no driver, or no GPU: no devices, which is not an error
      cudaGetLastError();
      why_none_ = err != cudaSuccess ? cudaGetErrorString(err) : "no CUDA GPU";
      TANDEM_LOG(info, "cuda: no devices (" << why_none_ << ")");
      return;
    }
    for (int ordinal = 0; ordinal < n; ++ordinal) {
      try {
        devices_.push_back(std::make_unique<CudaDevice>(static_cast<int>(devices_.size()), ordinal, props_of(ordinal)));
      } catch (const Error& e) {  // one broken GPU leaves the others usable
        TANDEM_LOG(error, e.what() << " (CUDA device " << ordinal << " skipped)");
      }
    }
  }
  std::string name() const override { return "cuda"; }
  std::string version() const override {
    const std::string v = runtime_versions() + "; " + libraries();
    return devices_.empty() ? v + " (no device: " + why_none_ + ")" : v;
  }
  std::vector<DeviceImpl*> devices() override {
    std::vector<DeviceImpl*> out;
    for (auto& d : devices_) out.push_back(d.get());
    return out;
  }

 private:
  std::vector<std::unique_ptr<CudaDevice>> devices_;
  std::string why_none_ = "no CUDA GPU";
};

CudaDevice& as_cuda(const Device& d, const char* what) {
  auto* impl = d ? dynamic_cast<CudaDevice*>(d.impl()) : nullptr;
  if (impl == nullptr) throw Error(ErrorKind::invalid_argument, d.id(), what, "not a cuda device");
  return *impl;
}

// Enables direct access from a to b's memory once per ordered pair; false where the GPUs cannot.
bool enable_peer(CudaDevice& a, CudaDevice& b) {
  static std::mutex mutex;
  static std::set<std::pair<int, int>> enabled;
  std::lock_guard lock(mutex);
  if (enabled.count({a.ordinal(), b.ordinal()}) != 0) return true;
  int can = 0;
  TANDEM_CUDA_CHECK(a.id(), "peer access", cudaDeviceCanAccessPeer(&can, a.ordinal(), b.ordinal()));
  if (can == 0) return false;
  DeviceGuard guard(a.ordinal(), a.id());
  const cudaError_t err = cudaDeviceEnablePeerAccess(b.ordinal(), 0);
  if (err == cudaErrorPeerAccessAlreadyEnabled) {
    cudaGetLastError();
  } else {
    TANDEM_CUDA_CHECK(a.id(), "peer access", err);
  }
  enabled.insert({a.ordinal(), b.ordinal()});
  return true;
}

}  // namespace

std::unique_ptr<Backend> make_cuda_backend() { return std::make_unique<CudaBackend>(); }

cudaStream_t stream_of(const Stream& s) {
  auto* impl = dynamic_cast<CudaStream*>(s.impl());
  if (impl == nullptr) throw Error(ErrorKind::invalid_argument, s.device().id(), "cuda stream", "not a cuda stream");
  return impl->get();
}

int ordinal_of(const Device& d) { return as_cuda(d, "cuda ordinal").ordinal(); }

PoolStats pool_stats(const Device& device) {
  CudaDevice& d = as_cuda(device, "pool stats");
  PoolStats s;
  if (d.pool() == nullptr) return s;
  TANDEM_CUDA_CHECK(d.id(), "pool stats",
                    cudaMemPoolGetAttribute(d.pool(), cudaMemPoolAttrReservedMemCurrent, &s.reserved));
  TANDEM_CUDA_CHECK(d.id(), "pool stats", cudaMemPoolGetAttribute(d.pool(), cudaMemPoolAttrUsedMemCurrent, &s.used));
  return s;
}

bool peer_access(const Device& a, const Device& b) {
  CudaDevice &da = as_cuda(a, "peer access"), &db = as_cuda(b, "peer access");
  int can = 0;
  TANDEM_CUDA_CHECK(da.id(), "peer access", cudaDeviceCanAccessPeer(&can, da.ordinal(), db.ordinal()));
  return can != 0;
}

void copy_peer(const Tensor& src, const Tensor& dst) {
  if (!src || !dst) throw Error(ErrorKind::invalid_argument, "", "copy peer", "empty tensor");
  CudaDevice &s = as_cuda(src.device(), "copy peer"), &d = as_cuda(dst.device(), "copy peer");
  if (src.dtype() != dst.dtype() || src.numel() != dst.numel())
    throw Error(ErrorKind::invalid_argument, d.id(), "copy peer",
                "src " + src.str() + " and dst " + dst.str() + " differ in dtype or element count");
  if (&s == &d) return d.copy_on_device_at(dst.data(), src.data(), src.nbytes());
  if (src.nbytes() == 0) return;
  enable_peer(s, d);
  enable_peer(d, s);
  // Order after the destination's queued work: an event on its legacy stream (which follows all
  // of its streams) that the source's legacy stream waits for, then copy and wait.
  cudaEvent_t ready = nullptr;
  {
    DeviceGuard guard(d.ordinal(), d.id());
    TANDEM_CUDA_CHECK(d.id(), "copy peer", cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
    const cudaError_t err = cudaEventRecord(ready, cudaStreamLegacy);
    if (err != cudaSuccess) cudaEventDestroy(ready);
    TANDEM_CUDA_CHECK(d.id(), "copy peer", err);
  }
  DeviceGuard guard(s.ordinal(), s.id());
  cudaError_t err = cudaStreamWaitEvent(cudaStreamLegacy, ready, 0);
  if (err == cudaSuccess)
    err = cudaMemcpyPeerAsync(dst.data(), d.ordinal(), src.data(), s.ordinal(), src.nbytes(), cudaStreamLegacy);
  if (err == cudaSuccess) err = cudaStreamSynchronize(cudaStreamLegacy);
  cudaEventDestroy(ready);
  TANDEM_CUDA_CHECK(s.id() + "->" + d.id(), "copy peer", err);
}

}  // namespace tandem::cuda
