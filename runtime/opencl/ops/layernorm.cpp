// Host side of layer normalization (layernorm.cl): a work-item per row for the statistics and the
// input gradient, one per column for the parameter gradients (summed over the rows in order, so
// the sums are deterministic). f32.
#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

using u64 = cl_ulong;

struct Rows {
  u64 rows, d;
};
Rows rows_of(const Tensor& x) {
  const auto d = static_cast<u64>(x.shape()[x.shape().rank() - 1]);
  return {d == 0 ? 0 : n_of(x) / d, d};
}

void layernorm_forward(const OpCall& c) {
  const Rows r = rows_of(*c.in[0]);
  Launch l(c, "layernorm", "layernorm_forward_f32");
  for (const Tensor* t : c.in) l.arg(*t);
  for (const Tensor* t : c.out) l.arg(*t);
  l.scalar(r.rows).scalar(r.d).scalar(c.param<LayerNormParams>().eps).run({r.rows});
}
TANDEM_KERNEL(opencl_kernels, layernorm_forward, layernorm_forward);

void layernorm_backward(const OpCall& c) {
  const Tensor &x = *c.in[0], &dy = *c.in[1], &mean = *c.in[3], &rstd = *c.in[4];
  const Rows r = rows_of(x);
  // The parameter gradients first: dx may be dy, which they read.
  Launch(c, "layernorm", "layernorm_params_f32")
      .arg(x)
      .arg(dy)
      .arg(mean)
      .arg(rstd)
      .arg(*c.out[1])
      .arg(*c.out[2])
      .scalar(r.rows)
      .scalar(r.d)
      .run({r.d});
  Launch l(c, "layernorm", "layernorm_backward_f32");
  for (const Tensor* t : c.in) l.arg(*t);
  l.arg(*c.out[0]).scalar(r.rows).scalar(r.d).run({r.rows});
}
TANDEM_KERNEL(opencl_kernels, layernorm_backward, layernorm_backward);

}  // namespace
}  // namespace tandem::opencl
