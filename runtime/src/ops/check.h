// Shape and dtype checks shared by the op descriptors. Each failure names the op, the device,
// the tensor's role and its shape, through OpCall::fail.
#pragma once

#include <string>

#include "tandem/op.h"

namespace tandem::opcheck {

/// "x f32[64,1,28,28]": a tensor under its role's name.
inline std::string role(const char* name, const Tensor& t) {
  return std::string(name) + " " + std::string(dtype_name(t.dtype())) + t.shape().str();
}

/// The tensor's role in the call (found by address) with its dtype and shape.
inline std::string describe(const OpCall& c, const Tensor& t) {
  for (size_t i = 0; i < c.in.size(); ++i)
    if (c.in[i] == &t) return role(c.op.inputs[i], t);
  for (size_t i = 0; i < c.out.size(); ++i)
    if (c.out[i] == &t) return role(c.op.outputs[i], t);
  return std::string(dtype_name(t.dtype())) + t.shape().str();
}

inline void rank(const OpCall& c, const Tensor& t, int r) {
  if (t.shape().rank() != r) c.fail(describe(c, t) + ": expected rank " + std::to_string(r));
}

inline void dtype(const OpCall& c, const Tensor& t, DType d) {
  if (t.dtype() != d) c.fail(describe(c, t) + ": expected dtype " + std::string(dtype_name(d)));
}

inline void floating(const OpCall& c, const Tensor& t) {
  if (!is_floating(t.dtype())) c.fail(describe(c, t) + ": expected a floating dtype (f32, f16, bf16)");
}

inline void same_dtype(const OpCall& c, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype()) c.fail(describe(c, a) + " and " + describe(c, b) + ": dtypes differ");
}

inline void same_shape(const OpCall& c, const Tensor& a, const Tensor& b) {
  if (!(a.shape() == b.shape())) c.fail(describe(c, a) + " and " + describe(c, b) + ": shapes differ");
}

/// Expects dimension i of t to equal n.
inline void dim(const OpCall& c, const Tensor& t, int i, int64_t n, const char* what) {
  if (t.shape()[i] != n)
    c.fail(describe(c, t) + ": " + what + " is " + std::to_string(t.shape()[i]) + ", expected " + std::to_string(n));
}

/// The axis p names on t (negative from the end); fails naming it when t has no such axis.
inline int axis(const OpCall& c, const Tensor& t, int axis) {
  const int a = normalize_axis(axis, t.shape().rank());
  if (a < 0) c.fail(describe(c, t) + ": no axis " + std::to_string(axis));
  return a;
}

/// Bytes moved by the call, from the access modes: inputs read once, outputs written once,
/// read-write outputs read and written.
inline double bytes_of(const OpCall& c) {
  double b = 0;
  for (const Tensor* t : c.in) b += static_cast<double>(t->nbytes());
  for (size_t i = 0; i < c.out.size(); ++i)
    b += static_cast<double>(c.out[i]->nbytes()) * (c.op.output_access[i] == Access::read_write ? 2 : 1);
  return b;
}

}  // namespace tandem::opcheck
