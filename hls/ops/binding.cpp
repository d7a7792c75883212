#include "binding.h"

namespace tandem::fpga {
namespace {

const char* kind_name(ArgKind k) {
  switch (k) {
    case ArgKind::buffer: return "a buffer";
    case ArgKind::i32: return "int";
    case ArgKind::u32: return "uint32_t";
    case ArgKind::i64: return "int64_t";
    case ArgKind::u64: return "uint64_t";
    case ArgKind::f32: return "float";
  }
  return "?";
}

}  // namespace

std::vector<CoreKernel>& core_kernels() {
  static std::vector<CoreKernel> list;
  return list;
}

const CoreKernel* core_kernel(const OpDesc& op) {
  for (const CoreKernel& k : core_kernels())
    if (k.op == &op) return &k;
  return nullptr;
}

void bind(const CoreKernel& k, CoreCall& call) {
  k.bind(call.call(), call);
  const std::vector<CoreArg>& a = call.args();
  const auto fail = [&](const std::string& what) {
    throw Error(ErrorKind::internal, call.call().device.id(), k.op->name,
                std::string("the binding of core ") + k.core + " " + what);
  };
  if (a.size() != k.signature.size())
    fail("passes " + std::to_string(a.size()) + " arguments; the core takes " + std::to_string(k.signature.size()));
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].kind != k.signature[i])
      fail("passes " + std::string(kind_name(a[i].kind)) + " as argument " + std::to_string(i) + "; the core takes " +
           kind_name(k.signature[i]));
}

void CoreCall::check_indices(const IndexRange& r, const Tensor& t) const {
  const std::vector<int32_t> v = host_values<int32_t>(t);
  tandem::check_indices(call_, r, v.data(), t.numel());
}

const char* f32_cores(const OpCall& c) {
  const auto other = [](const Tensor* t) { return is_floating(t->dtype()) && t->dtype() != DType::f32; };
  for (const Tensor* t : c.in)
    if (other(t)) return "the FPGA core computes in f32 only";
  for (const Tensor* t : c.out)
    if (other(t)) return "the FPGA core computes in f32 only";
  return nullptr;
}

}  // namespace tandem::fpga
