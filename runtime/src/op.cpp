#include "tandem/op.h"

#include <cstdint>

#include <mutex>

#include "tandem/backend.h"
#include "tandem/fault.h"
#include "tandem/stream.h"

namespace tandem {
namespace {

std::vector<const OpDesc*>& op_table() {
  static std::vector<const OpDesc*> table;
  return table;
}

std::mutex& op_table_mutex() {
  static std::mutex m;
  return m;
}

// Checks what every op shares (tensor count, presence, device) before the op's own checks.
void check_call(const OpCall& call) {
  const OpDesc& op = call.op;
  if (call.in.size() != op.inputs.size() || call.out.size() != op.outputs.size())
    call.fail("expects " + std::to_string(op.inputs.size()) + " inputs and " + std::to_string(op.outputs.size()) +
              " outputs, got " + std::to_string(call.in.size()) + " and " + std::to_string(call.out.size()));
  auto check = [&](const Tensor* t, const char* role) {
    if (t == nullptr || !*t) call.fail(std::string("tensor '") + role + "' is empty");
    if (t->device().impl() != &call.device)
      call.fail(std::string("tensor '") + role + "' " + t->str() + " is not on the stream's device");
  };
  for (size_t i = 0; i < call.in.size(); ++i) check(call.in[i], op.inputs[i]);
  for (size_t i = 0; i < call.out.size(); ++i) check(call.out[i], op.outputs[i]);
}

}  // namespace

void OpCall::fail(const std::string& detail) const {
  throw Error(ErrorKind::invalid_argument, device.id(), op.name, detail);
}

void OpCall::unsupported(const std::string& detail) const {
  throw Error(ErrorKind::unsupported, device.id(), op.name, detail);
}

IndexRange label_range(const OpCall& c) {
  const int64_t classes = c.in[0]->shape()[1];
  return {"labels", 0, classes, "[0, " + std::to_string(classes) + ")"};
}

IndexRange pool_index_range(const OpCall& c) {
  const Shape& dx = c.out[0]->shape();
  return {"indices", 0, dx[2] * dx[3], "the " + std::to_string(dx[2]) + "x" + std::to_string(dx[3]) + " input plane"};
}

IndexRange scatter_index_range(const OpCall& c) {
  const int64_t n = c.out[0]->numel();
  return {"idx", 0, n, "[0, " + std::to_string(n) + ")"};
}

void check_indices(const OpCall& c, const IndexRange& r, const int32_t* v, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (v[i] < r.lo || v[i] >= r.hi) index_error(c, r, i, v[i]);
}

void index_error(const OpCall& c, const IndexRange& r, int64_t at, int64_t value) {
  c.fail(r.what + "[" + std::to_string(at) + "] = " + std::to_string(value) + " is outside " + r.shown);
}

int OpCall::count32(int64_t v, const char* what) const {
  if (v > INT32_MAX) unsupported(std::string(what) + " " + std::to_string(v) + " exceeds this device's 32-bit sizes");
  return static_cast<int>(v);
}

OpDesc::OpDesc(const char* name_, std::vector<const char*> inputs_, std::vector<const char*> outputs_,
               ValidateFn validate_, CostFn cost_)
    : name(name_), inputs(std::move(inputs_)), outputs(std::move(outputs_)), validate(validate_), cost(cost_) {
  std::lock_guard lock(op_table_mutex());
  id = static_cast<uint32_t>(op_table().size());
  op_table().push_back(this);
}

const std::vector<const OpDesc*>& all_ops() { return op_table(); }

const OpDesc& find_op(std::string_view name) {
  std::string known;
  for (const OpDesc* op : op_table()) {
    if (name == op->name) return *op;
    known += (known.empty() ? "" : ", ") + std::string(op->name);
  }
  throw Error(ErrorKind::invalid_argument, "", "find op", "no op '" + std::string(name) + "' (known: " + known + ")");
}

namespace {
thread_local OpObserver* observer = nullptr;
}  // namespace

void dispatch(Stream& stream, const OpDesc& op, std::initializer_list<const Tensor*> in,
              std::initializer_list<const Tensor*> out, const void* params) {
  if (!stream) throw Error(ErrorKind::invalid_argument, "", op.name, "no stream given");
  DeviceImpl& device = *stream.device().impl();
  const OpCall call{op, {in.begin(), in.size()}, {out.begin(), out.size()}, params, device, stream.impl()};
  check_call(call);
  op.validate(call);
  const Kernel* kernel = device.kernel(op);
  if (kernel == nullptr) call.unsupported("not implemented on this device");
  if (kernel->unsupported != nullptr)
    if (const char* why = kernel->unsupported(call)) call.unsupported(why);
  faults::point(faults::Site::launch, device.id(), op.name);
  if (observer == nullptr) return kernel->run(call);
  observer->before(stream, call);
  kernel->run(call);
  observer->after(stream, call, op.cost(call));
}

ScopedOpObserver::ScopedOpObserver(OpObserver& o) : previous_(observer) { observer = &o; }
ScopedOpObserver::~ScopedOpObserver() { observer = previous_; }

OpCost op_cost(const Device& device, const OpDesc& op, std::initializer_list<const Tensor*> in,
               std::initializer_list<const Tensor*> out, const void* params) {
  if (!device) throw Error(ErrorKind::invalid_argument, "", op.name, "no device given");
  const OpCall call{op, {in.begin(), in.size()}, {out.begin(), out.size()}, params, *device.impl(), nullptr};
  check_call(call);
  op.validate(call);
  return op.cost(call);
}

}  // namespace tandem
