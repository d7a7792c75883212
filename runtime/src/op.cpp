#include "tandem/op.h"
#include "tandem/ops.h"

#include <cstdint>

#include <mutex>

#include "ops/check.h"
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

using opcheck::role;

// A written tensor may share memory with another tensor of the call only where the op declares
// it in place, and then only as the very same view: kernels read and write element by element.
void check_aliasing(const OpCall& c) {
  const OpDesc& op = c.op;
  for (size_t o = 0; o < c.out.size(); ++o) {
    const Tensor& out = *c.out[o];
    for (size_t i = 0; i < c.in.size(); ++i) {
      if (!out.overlaps(*c.in[i])) continue;
      if (op.may_alias(o, i) && out.same_view(*c.in[i])) continue;
      c.fail(role(op.outputs[o], out) + " overlaps " + role(op.inputs[i], *c.in[i]) +
             (op.may_alias(o, i) ? ": in place it must be the same view" : ": this op cannot run in place on them"));
    }
    for (size_t p = 0; p < o; ++p)
      if (out.overlaps(*c.out[p]))
        c.fail(role(op.outputs[o], out) + " overlaps " + role(op.outputs[p], *c.out[p]) +
               ": outputs must not share memory");
  }
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
  check_aliasing(call);
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
  const int32_t ignore = c.params ? c.param<XentParams>().ignore_index : XentParams::no_ignore;
  if (ignore == XentParams::no_ignore) return {"labels", 0, classes, "[0, " + std::to_string(classes) + ")"};
  return {"labels", 0, classes, "[0, " + std::to_string(classes) + ") and is not the ignore index " + std::to_string(ignore),
          ignore};
}

IndexRange pool_index_range(const OpCall& c) {
  const Shape& dx = c.out[0]->shape();
  return {"indices", 0, dx[2] * dx[3], "the " + std::to_string(dx[2]) + "x" + std::to_string(dx[3]) + " input plane"};
}

IndexRange scatter_index_range(const OpCall& c) {
  const int64_t n = c.out[0]->numel();
  return {"idx", 0, n, "[0, " + std::to_string(n) + ")"};
}

IndexRange embedding_index_range(const OpCall& c) {
  // The table is embedding_forward's input 1 and embedding_backward's output 0.
  const int64_t rows = (&c.op == &opdesc::embedding_forward ? *c.in[1] : *c.out[0]).shape()[0];
  return {"ids", 0, rows, "the " + std::to_string(rows) + " rows of the table"};
}

void check_indices(const OpCall& c, const IndexRange& r, const int32_t* v, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if ((v[i] < r.lo || v[i] >= r.hi) && v[i] != r.skip) index_error(c, r, i, v[i]);
}

void index_error(const OpCall& c, const IndexRange& r, int64_t at, int64_t value) {
  c.fail(r.what + "[" + std::to_string(at) + "] = " + std::to_string(value) + " is outside " + r.shown);
}

int OpCall::count32(int64_t v, const char* what) const {
  if (v > INT32_MAX) unsupported(std::string(what) + " " + std::to_string(v) + " exceeds this device's 32-bit sizes");
  return static_cast<int>(v);
}

const char* access_name(Access a) {
  switch (a) {
    case Access::read: return "read";
    case Access::write: return "write";
    case Access::read_write: return "read-write";
  }
  return "?";
}

namespace {
int index_of(const std::vector<const char*>& roles, const char* name) {
  for (size_t i = 0; i < roles.size(); ++i)
    if (std::string_view(roles[i]) == name) return static_cast<int>(i);
  return -1;
}
}  // namespace

OpDesc::OpDesc(const char* name_, std::vector<const char*> inputs_, std::vector<OutputRole> outputs_,
               ValidateFn validate_, CostFn cost_, std::vector<InPlace> in_place_)
    : name(name_), inputs(std::move(inputs_)), validate(validate_), cost(cost_) {
  for (const OutputRole& r : outputs_) {
    outputs.push_back(r.name);
    output_access.push_back(r.access);
  }
  for (const InPlace& p : in_place_) in_place.emplace_back(index_of(outputs, p.output), index_of(inputs, p.input));
  std::lock_guard lock(op_table_mutex());
  id = static_cast<uint32_t>(op_table().size());
  op_table().push_back(this);
}

bool OpDesc::may_alias(size_t output, size_t input) const {
  for (const auto& [o, i] : in_place)
    if (o == static_cast<int>(output) && i == static_cast<int>(input)) return true;
  return false;
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
thread_local bool dry_run = false;
}  // namespace

ScopedDryRun::ScopedDryRun() : previous_(dry_run) { dry_run = true; }
ScopedDryRun::~ScopedDryRun() { dry_run = previous_; }

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
  if (dry_run) return;
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
