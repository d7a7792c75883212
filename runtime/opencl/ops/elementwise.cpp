// Host side of the element-wise ops and cast (elementwise.cl): one work-item per
// element. f32 runs the _f32 kernels; f16/bf16 the _h kernels, which widen to f32, compute and
// narrow with round-to-nearest-even as the CPU does.
#include <initializer_list>
#include <optional>
#include <string>

#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

// Launches <op>_f32 or <op>_h over the tensors (the last one the output), then the op's float
// scalar if any, the element count and, for _h, whether the format is bf16.
void elementwise(const OpCall& c, const std::string& op, std::initializer_list<const Tensor*> tensors,
                 std::optional<float> scalar = std::nullopt) {
  const Tensor& out = *c.out[0];
  const bool half = out.dtype() != DType::f32;
  Launch l(c, "elementwise", (op + (half ? "_h" : "_f32")).c_str());
  for (const Tensor* t : tensors) l.arg(*t);
  if (scalar) l.scalar(*scalar);
  l.scalar<cl_ulong>(static_cast<cl_ulong>(out.numel()));
  if (half) l.scalar<cl_int>(out.dtype() == DType::bf16);
  l.run({static_cast<size_t>(out.numel())});
}

void fill(const OpCall& c) { elementwise(c, "fill", {c.out[0]}, c.param<FillParams>().value); }
TANDEM_KERNEL(opencl_kernels, fill, fill);
void scale(const OpCall& c) { elementwise(c, "scale", {c.out[0]}, c.param<ScaleParams>().alpha); }
TANDEM_KERNEL(opencl_kernels, scale, scale);
void axpy(const OpCall& c) { elementwise(c, "axpy", {c.in[0], c.out[0]}, c.param<ScaleParams>().alpha); }
TANDEM_KERNEL(opencl_kernels, axpy, axpy);
void add(const OpCall& c) { elementwise(c, "add", {c.in[0], c.in[1], c.out[0]}); }
TANDEM_KERNEL(opencl_kernels, add, add);
void sub(const OpCall& c) { elementwise(c, "sub", {c.in[0], c.in[1], c.out[0]}); }
TANDEM_KERNEL(opencl_kernels, sub, sub);
void mul(const OpCall& c) { elementwise(c, "mul", {c.in[0], c.in[1], c.out[0]}); }
TANDEM_KERNEL(opencl_kernels, mul, mul);

void check(const OpCall& c, cl_int err, const char* what) {
  if (err != CL_SUCCESS)
    throw Error(ErrorKind::device, c.device.id(), c.op.name, std::string(what) + " failed: " + cl_error_name(err));
}

// The same dtype is a copy of the bytes, on the stream. dispatch has refused views that overlap
// without being the same one (which OpenCL may not copy between); the same one is a no-op.
void copy(const OpCall& c, const Tensor& src, const Tensor& dst) {
  const size_t bytes = src.nbytes();
  if (bytes == 0) return;
  const ClRef s = cl_ref(src), t = cl_ref(dst);
  if (s.mem == t.mem && s.offset == t.offset) return;
  const cl_command_queue q = cl_stream(c).queue();
  check(c, clEnqueueCopyBuffer(q, s.mem, t.mem, s.offset, t.offset, bytes, 0, nullptr, nullptr), "clEnqueueCopyBuffer");
}

void cast(const OpCall& c) { cast_into(c, *c.in[0], *c.out[0]); }
TANDEM_KERNEL(opencl_kernels, cast, cast);

}  // namespace

// The cast kernel takes dtypes as their codes; its enum follows DType's order.
static_assert(static_cast<int>(DType::f32) == 0 && static_cast<int>(DType::bf16) == 2 &&
              static_cast<int>(DType::u8) == 5);

void cast_into(const OpCall& c, const Tensor& src, const Tensor& dst) {
  if (src.dtype() == dst.dtype()) return copy(c, src, dst);
  Launch(c, "elementwise", "cast")
      .arg(src)
      .scalar<cl_int>(static_cast<cl_int>(src.dtype()))
      .arg(dst)
      .scalar<cl_int>(static_cast<cl_int>(dst.dtype()))
      .scalar<cl_ulong>(static_cast<cl_ulong>(src.numel()))
      .run({static_cast<size_t>(src.numel())});
}


}  // namespace tandem::opencl
