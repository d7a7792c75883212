// Ops as codelets: one descriptor per op (its tensors, checks and cost), one kernel per
// backend. The dispatcher checks devices and shapes once, here, so every backend reports bad
// input with the same message, then calls the kernel the stream's device registered.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tandem/error.h"
#include "tandem/tensor.h"

namespace tandem {

class DeviceImpl;
class StreamImpl;
class Stream;
struct OpDesc;

/// Work an op does, for cost models: floating-point operations and bytes read plus written.
struct OpCost {
  double flops = 0;
  double bytes = 0;
};

/// One invocation of an op, as a kernel sees it. Tensors are all on `device`.
struct OpCall {
  const OpDesc& op;
  std::span<const Tensor* const> in;
  std::span<const Tensor* const> out;
  const void* params;  ///< the op's parameter struct, or nullptr
  DeviceImpl& device;
  StreamImpl* stream;  ///< where to run; nullptr when only costing (op_cost)

  /// The op's parameter struct; fails (naming the op) when the caller passed none.
  template <class P>
  const P& param() const {
    if (params == nullptr) fail("called without its parameters");
    return *static_cast<const P*>(params);
  }
  /// Throws Error(invalid_argument) naming this call's device and op.
  [[noreturn]] void fail(const std::string& detail) const;
  /// Throws Error(unsupported) naming this call's device and op.
  [[noreturn]] void unsupported(const std::string& detail) const;
  /// v as the 32-bit size a kernel, library or core takes; unsupported() naming `what` when it
  /// does not fit.
  int count32(int64_t v, const char* what) const;
};

/// Indices that come from outside an op (labels, pool indices, scatter indices) are data: they
/// are checked by the kernels, before anything is written, in the one wording every backend
/// gives ("labels[3] = 12 is outside [0, 10)"). Each op's range is defined once, here.
struct IndexRange {
  std::string what;   ///< "labels"
  int64_t lo = 0, hi = 0;
  std::string shown;  ///< "[0, 10)", "the 4x4 input plane"
  int64_t skip = INT64_MIN;  ///< a value allowed outside the range (an ignore index), or none
};
IndexRange label_range(const OpCall& c);          ///< softmax_xent_*: input 1 in [0, classes) or the ignore index
IndexRange pool_index_range(const OpCall& c);     ///< maxpool2d_backward: input 1 within dx's plane
IndexRange scatter_index_range(const OpCall& c);  ///< scatter_add: input 0 within y
IndexRange embedding_index_range(const OpCall& c);  ///< embedding_*: input 0 among the table's rows
/// Fails on the first of v[0..n) (host-readable) outside the range.
void check_indices(const OpCall& c, const IndexRange& r, const int32_t* v, int64_t n);
/// The failure for index `at` holding `value`, for backends that scan on the device.
[[noreturn]] void index_error(const OpCall& c, const IndexRange& r, int64_t at, int64_t value);

/// How an op uses a tensor. Inputs are read; an output is written over, or read and written
/// (accumulated into, updated in place). Byte costs, XRT staging and memory planning follow it.
enum class Access : uint8_t { read, write, read_write };
const char* access_name(Access a);  ///< "read", "write", "read-write"

/// An output tensor: its role and whether the op reads it first.
struct OutputRole {
  const char* name;
  Access access;
};
/// Written over: its old contents are never read.
constexpr OutputRole writes(const char* name) { return {name, Access::write}; }
/// Read, then written: y += …, x *= …, in-place updates.
constexpr OutputRole updates(const char* name) { return {name, Access::read_write}; }

/// An output that may be given the very same view as an input: the kernels read each element
/// before writing it. Any other overlap of an output with a tensor of the call is refused.
struct InPlace {
  const char* output;
  const char* input;
};

struct OpDesc {
  using ValidateFn = void (*)(const OpCall&);
  using CostFn = OpCost (*)(const OpCall&);

  /// Registers the op in all_ops() and gives it a dense id (for O(1) kernel lookup).
  OpDesc(const char* name, std::vector<const char*> inputs, std::vector<OutputRole> outputs, ValidateFn validate,
         CostFn cost, std::vector<InPlace> in_place = {});
  OpDesc(const OpDesc&) = delete;
  OpDesc& operator=(const OpDesc&) = delete;

  const char* name;
  std::vector<const char*> inputs;  ///< tensor roles, for messages ("a", "b"); all read
  std::vector<const char*> outputs;
  std::vector<Access> output_access;  ///< per output: write or read_write
  /// (output, input) index pairs that may be the same view; a role the op does not have is
  /// kept as -1 (the op-table test fails on it).
  std::vector<std::pair<int, int>> in_place;
  ValidateFn validate;  ///< throws Error(invalid_argument) naming the offending shapes
  CostFn cost;
  uint32_t id;

  bool may_alias(size_t output, size_t input) const;
};

/// Every op descriptor linked into the program, in registration order.
const std::vector<const OpDesc*>& all_ops();
/// The op with this name; throws Error(invalid_argument) naming the known ops when unknown.
const OpDesc& find_op(std::string_view name);

/// Checks the call (devices, tensor count, aliasing against the access modes, shapes, a kernel
/// for the device) and runs the kernel on the stream. Throws Error; nothing has been written when validation fails.
void dispatch(Stream& stream, const OpDesc& op, std::initializer_list<const Tensor*> in,
              std::initializer_list<const Tensor*> out, const void* params = nullptr);

/// Watches the ops dispatched on one thread (calibration times each op this way). before() runs
/// after validation, just ahead of the kernel; after() once the kernel call returns (work may
/// still be queued on asynchronous devices: synchronize the stream to time it).
class OpObserver {
 public:
  virtual ~OpObserver() = default;
  virtual void before(Stream& stream, const OpCall& call) = 0;
  virtual void after(Stream& stream, const OpCall& call, const OpCost& cost) = 0;
};

/// Installs an observer for this thread's dispatches while in scope (the previous one returns after).
class ScopedOpObserver {
 public:
  explicit ScopedOpObserver(OpObserver& observer);
  ~ScopedOpObserver();
  ScopedOpObserver(const ScopedOpObserver&) = delete;
  ScopedOpObserver& operator=(const ScopedOpObserver&) = delete;

 private:
  OpObserver* previous_;
};

/// While in scope on this thread, dispatch checks every call as it would (devices, shapes,
/// access modes, a kernel for the device and whether it serves the call, throwing the same
/// errors) but runs no kernel: how placement asks a device about the very calls a graph makes
/// (a core may take only some of its op's calls, such as convolutions with groups = 1).
class ScopedDryRun {
 public:
  ScopedDryRun();
  ~ScopedDryRun();
  ScopedDryRun(const ScopedDryRun&) = delete;
  ScopedDryRun& operator=(const ScopedDryRun&) = delete;

 private:
  bool previous_;
};

/// Cost of a call without running it (for planners); validates shapes the same way.
OpCost op_cost(const Device& device, const OpDesc& op, std::initializer_list<const Tensor*> in,
               std::initializer_list<const Tensor*> out, const void* params = nullptr);

}  // namespace tandem
