// The Op context of every kernel function, scratch memory, and the index checks that must fail
// before an op writes anything (labels, pooling indices, scatter indices).
#include <algorithm>
#include <cstring>

#include "common.cuh"
#include "op.h"
#include "tandem/error.h"

namespace tandem::cuda {

Op::Op(const OpCall& c)
    : guard_(static_cast<CudaDevice&>(c.device).ordinal(), c.device.id()),
      call(c),
      stream(*static_cast<CudaStream*>(c.stream)),
      device(static_cast<CudaDevice&>(c.device)) {
  auto aligned = [&](const Tensor* t) {
    if (reinterpret_cast<uintptr_t>(t->data()) % dtype_size(t->dtype()) != 0)
      call.unsupported("tensor view at byte offset " + std::to_string(t->offset()) + " is misaligned");
  };
  for (const Tensor* t : call.in) aligned(t);
  for (const Tensor* t : call.out) aligned(t);
}

void Op::check(cudaError_t err, const char* what) const {
  if (err == cudaSuccess) return;
  throw Error(err == cudaErrorMemoryAllocation ? ErrorKind::out_of_memory : ErrorKind::device, device.id(),
              call.op.name, std::string(what) + ": " + cudaGetErrorString(err));
}

void Op::read_back(const void* device_src, void* host_dst, size_t bytes) const {
  void* pinned = stream.readback();
  TANDEM_OP_CHECK(*this, cudaMemcpyAsync(pinned, device_src, bytes, cudaMemcpyDeviceToHost, s()));
  TANDEM_OP_CHECK(*this, cudaStreamSynchronize(s()));
  std::memcpy(host_dst, pinned, bytes);
}

unsigned Op::grid(int64_t n, int threads) const {
  const int64_t blocks = (n + threads - 1) / threads;
  const int64_t cap = std::max(1, device.props().compute_units) * int64_t{32};
  return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, cap));
}

Scratch::Scratch(const Op& op, size_t bytes) : op_(op) {
  if (bytes > 0) TANDEM_OP_CHECK(op, cudaMallocAsync(&ptr_, bytes, op.s()));
}

Scratch::~Scratch() {
  if (ptr_ != nullptr) cudaFreeAsync(ptr_, op_.s());  // after the kernels queued so far
}

namespace {

struct CheckResult {
  unsigned long long first_bad;  // smallest offending position, or all ones
  unsigned int not_increasing;   // set when some v[j] ≤ v[j − 1]
};

__global__ void index_check(const int32_t* v, int64_t n, int64_t lo, int64_t hi, int64_t skip, CheckResult* r) {
  TANDEM_GRID_LOOP(j, n) {
    const int32_t x = v[j];
    if ((x < lo || x >= hi) && x != skip) atomicMin(&r->first_bad, static_cast<unsigned long long>(j));
    if (j > 0 && x <= v[j - 1]) r->not_increasing = 1u;  // every writer writes 1: no race to care about
  }
}

}  // namespace

IndexCheck check_indices(const Op& op, const int32_t* v, int64_t n, int64_t lo, int64_t hi, int64_t skip) {
  IndexCheck out;
  if (n == 0) return out;
  Scratch r(op, sizeof(CheckResult));
  auto* res = r.as<CheckResult>();
  TANDEM_OP_CHECK(op, cudaMemsetAsync(&res->first_bad, 0xff, sizeof(res->first_bad), op.s()));
  TANDEM_OP_CHECK(op, cudaMemsetAsync(&res->not_increasing, 0, sizeof(res->not_increasing), op.s()));
  index_check<<<op.grid(n), block_threads, 0, op.s()>>>(v, n, lo, hi, skip, res);
  op.launched("index_check");
  CheckResult got{};
  op.read_back(r.get(), &got, sizeof(got));
  out.increasing = got.not_increasing == 0;
  if (got.first_bad != ~0ull) {
    out.first_bad = static_cast<int64_t>(got.first_bad);
    op.read_back(v + out.first_bad, &out.bad_value, sizeof(int32_t));
  }
  return out;
}

}  // namespace tandem::cuda
