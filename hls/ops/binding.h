// How an op calls its HLS core, once for both FPGA drivers: the op's binding (hls/ops/<family>.cpp)
// turns a call into the core's argument list (CoreCall, in the order of cores.h, which is the
// kernel's argument index) and the modeled time; fpga-sim runs the core's C function on those
// arguments (C simulation), fpga-xrt launches the bitstream's kernel of the same name with them.
// The argument list is checked against the core's C signature (taken from the function's type)
// before either driver uses it, so a binding that drifts from cores.h fails on its first call,
// in simulation and on a card alike.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "perf_model.h"
#include "tandem/backend.h"
#include "tandem/ops.h"

namespace tandem::fpga {

/// The kinds of a core's parameters: an m_axi buffer port, or an s_axilite scalar register.
enum class ArgKind : uint8_t { buffer, i32, u32, i64, u64, f32 };

template <class T>
constexpr ArgKind kind_of() {
  if constexpr (std::is_pointer_v<T>)
    return ArgKind::buffer;
  else if constexpr (std::is_same_v<T, int>)
    return ArgKind::i32;
  else if constexpr (std::is_same_v<T, uint32_t>)
    return ArgKind::u32;
  else if constexpr (std::is_same_v<T, int64_t>)
    return ArgKind::i64;
  else if constexpr (std::is_same_v<T, uint64_t>)
    return ArgKind::u64;
  else if constexpr (std::is_same_v<T, float>)
    return ArgKind::f32;
  else
    static_assert(!sizeof(T), "a core parameter of a type the drivers cannot pass");
}

struct CoreArg {
  ArgKind kind;
  const Tensor* tensor = nullptr;  ///< buffer: the view
  bool written = false;            ///< buffer: the core writes it
  uint64_t bits = 0;               ///< scalar: its bytes
};

/// What a driver does for a binding besides running the core: host reads of small inputs.
class CoreDriver {
 public:
  virtual ~CoreDriver() = default;
  /// Copies t (on the call's device, after the work queued before) into host memory.
  virtual void read(const Tensor& t, void* host) const = 0;
};

/// One call of a core: its arguments and its modeled time.
class CoreCall {
 public:
  CoreCall(const OpCall& call, const CoreDriver& driver) : call_(call), driver_(driver) {}
  CoreCall& in(const Tensor& t) { return buffer(t, false); }
  /// Written, or read and written (the op's access mode says which; the core's port is in-out).
  CoreCall& out(const Tensor& t) { return buffer(t, true); }
  CoreCall& arg(int v) { return scalar(ArgKind::i32, v); }
  CoreCall& arg(uint32_t v) { return scalar(ArgKind::u32, v); }
  CoreCall& arg(int64_t v) { return scalar(ArgKind::i64, v); }
  CoreCall& arg(uint64_t v) { return scalar(ArgKind::u64, v); }
  CoreCall& arg(float v) { return scalar(ArgKind::f32, v); }
  /// A size as the core's int; unsupported (naming `what`) past its range.
  CoreCall& dim(int64_t v, const char* what) { return arg(call_.count32(v, what)); }
  /// The modeled seconds of the call, from the performance model (fpga-sim charges them once the
  /// core has run; fpga-xrt measures instead).
  void model(std::function<double(const CardProfile&)> seconds) { model_ = std::move(seconds); }

  /// A small input read to the host (a threshold, labels, indices), through the driver.
  template <class T>
  std::vector<T> host_values(const Tensor& t) const {
    std::vector<T> v(static_cast<size_t>(t.numel()));
    driver_.read(t, v.data());
    return v;
  }
  /// Fails (before anything is written) on the first index of t outside the op's range.
  void check_indices(const IndexRange& r, const Tensor& t) const;

  const OpCall& call() const { return call_; }
  const std::vector<CoreArg>& args() const { return args_; }
  double modeled(const CardProfile& card) const { return model_ ? model_(card) : 0.0; }

 private:
  CoreCall& buffer(const Tensor& t, bool written) {
    args_.push_back({ArgKind::buffer, &t, written, 0});
    return *this;
  }
  template <class T>
  CoreCall& scalar(ArgKind k, T v) {
    CoreArg a{k, nullptr, false, 0};
    std::memcpy(&a.bits, &v, sizeof v);
    args_.push_back(a);
    return *this;
  }
  const OpCall& call_;
  const CoreDriver& driver_;
  std::vector<CoreArg> args_;
  std::function<double(const CardProfile&)> model_;
};

using BindFn = void (*)(const OpCall&, CoreCall&);
/// Runs the core's C function on host memory (the fpga-sim device's memory is host memory).
using SimulateFn = void (*)(const std::vector<CoreArg>&);

/// An op served by a core: the binding, the core's name (the bitstream's kernel) and signature.
struct CoreKernel {
  const OpDesc* op;
  const char* core;
  std::vector<ArgKind> signature;
  BindFn bind;
  SimulateFn simulate;
  KernelSupportsFn unsupported;  ///< nullptr: every valid call
};

/// The ops the cores serve, each added by a TANDEM_CORE_KERNEL line beside its binding.
std::vector<CoreKernel>& core_kernels();
/// The entry for an op (nullptr when no core serves it).
const CoreKernel* core_kernel(const OpDesc& op);
/// Binds the call and checks the arguments against the core's signature (Error(internal)
/// naming the op, the core and the argument when they disagree).
void bind(const CoreKernel& k, CoreCall& call);
/// The cores compute in f32: a floating tensor of another dtype is refused.
const char* f32_cores(const OpCall& c);

/// The cores' kernels as one device registers them (`run` for each op whose core `has(name)`
/// accepts), and the way back from a call's op to its core.
class CoreKernels {
 public:
  template <class Has>
  void register_on(DeviceImpl& device, KernelFn run, Has has) {
    for (const CoreKernel& k : core_kernels()) {
      if (!has(k.core)) continue;
      device.register_kernel(*k.op, {run, k.unsupported});
      if (by_id_.size() <= k.op->id) by_id_.resize(k.op->id + 1, nullptr);
      by_id_[k.op->id] = &k;
    }
  }
  const CoreKernel& of(const OpDesc& op) const { return *by_id_[op.id]; }

 private:
  std::vector<const CoreKernel*> by_id_;
};

/// The element-wise vector unit's operations (tandem_elementwise in cores.h).
enum VectorOp : int { kFill = 0, kScale = 1, kAdd = 2, kMul = 3, kRelu = 4, kReluBackward = 5, kSub = 6 };
/// y = op(a, b) on the vector unit, `reads` operands read per element (for the model); ports the
/// operation does not read get y, since a port always needs a buffer (elementwise.cpp).
void bind_vector(const OpCall& c, CoreCall& k, VectorOp op, const Tensor* a, const Tensor* b, int reads, float alpha);

namespace detail {
template <class T>
T as_param(const CoreArg& a) {
  if constexpr (std::is_pointer_v<T>) {
    using E = std::remove_const_t<std::remove_pointer_t<T>>;
    return static_cast<T>(static_cast<E*>(a.tensor->data()));
  } else {
    T v;
    std::memcpy(&v, &a.bits, sizeof v);
    return v;
  }
}
template <class... P, size_t... I>
void call_core(void (*f)(P...), const std::vector<CoreArg>& a, std::index_sequence<I...>) {
  f(as_param<P>(a[I])...);
}
template <auto F>
void simulate(const std::vector<CoreArg>& a) {
  []<class... P>(void (*f)(P...), const std::vector<CoreArg>& args) {
    call_core(f, args, std::index_sequence_for<P...>{});
  }(F, a);
}
template <class... P>
std::vector<ArgKind> signature_of(void (*)(P...)) {
  return {kind_of<P>()...};
}
}  // namespace detail

/// TANDEM_CORE_KERNEL(gemm, tandem_gemm, bind_gemm): opdesc::gemm runs on core tandem_gemm (its
/// C function in cores.h and the bitstream's kernel of that name), arguments from bind_gemm.
#define TANDEM_CORE_KERNEL(op, core, bind_fn) TANDEM_CORE_KERNEL_UNLESS(op, core, bind_fn, ::tandem::fpga::f32_cores)

/// The same for a core that serves only some valid calls of its op: unsupported_fn (a
/// KernelSupportsFn, which checks f32_cores too) says why it refuses the others.
#define TANDEM_CORE_KERNEL_UNLESS(op, core, bind_fn, unsupported_fn)                                         \
  [[maybe_unused]] static const bool tandem_core_kernel_##op =                                               \
      (::tandem::fpga::core_kernels().push_back({&::tandem::opdesc::op, #core,                               \
                                                 ::tandem::fpga::detail::signature_of(&core), bind_fn,       \
                                                 &::tandem::fpga::detail::simulate<&core>, unsupported_fn}), \
       true)

}  // namespace tandem::fpga
