// Host side of batch normalization (batchnorm.cl): a work-group per channel reduces, then one
// work-item per element normalizes or forms the input gradient. f32.
#include <algorithm>

#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

using u64 = cl_ulong;
constexpr size_t wg = 64;  // BN_WG in batchnorm.cl

void batchnorm_forward_train(const OpCall& c) {
  const Tensor &x = *c.in[0], &y = *c.out[0];
  const auto& p = c.param<BatchNormParams>();
  const Planes pl = planes(x.shape());
  Launch(c, "batchnorm", "batchnorm_stats_f32")
      .arg(x)
      .arg(*c.out[1])
      .arg(*c.out[2])
      .arg(*c.out[3])
      .arg(*c.out[4])
      .scalar<u64>(pl.n)
      .scalar<u64>(pl.c)
      .scalar<u64>(pl.inner)
      .scalar(p.eps)
      .scalar(p.momentum)
      .run({static_cast<size_t>(pl.c) * wg}, {wg});
  Launch(c, "batchnorm", "batchnorm_apply_f32")
      .arg(x)
      .arg(*c.in[1])
      .arg(*c.in[2])
      .arg(*c.out[1])
      .arg(*c.out[2])
      .arg(y)
      .scalar<u64>(pl.c)
      .scalar<u64>(pl.inner)
      .scalar<u64>(n_of(y))
      .scalar<cl_int>(c.param<BatchNormParams>().relu)
      .run({n_of(y)});
}
TANDEM_KERNEL(opencl_kernels, batchnorm_forward_train, batchnorm_forward_train);

void batchnorm_forward_infer(const OpCall& c) {
  const Tensor& y = *c.out[0];
  const Planes pl = planes(y.shape());
  Launch l(c, "batchnorm", "batchnorm_infer_f32");
  for (const Tensor* t : c.in) l.arg(*t);
  l.arg(y)
      .scalar<u64>(pl.c)
      .scalar<u64>(pl.inner)
      .scalar<u64>(n_of(y))
      .scalar(c.param<BatchNormParams>().eps)
      .scalar<cl_int>(c.param<BatchNormParams>().relu)
      .run({n_of(y)});
}
TANDEM_KERNEL(opencl_kernels, batchnorm_forward_infer, batchnorm_forward_infer);

void batchnorm_fold(const OpCall& c) {
  const Tensor& w = *c.in[0];
  const u64 k = static_cast<u64>(w.shape()[0]), per = k == 0 ? 0 : static_cast<u64>(w.numel()) / k;
  if (k == 0) return;
  Launch l(c, "batchnorm", "batchnorm_fold_f32");
  for (const Tensor* t : c.in) l.arg(*t);
  l.arg(*c.out[0]).arg(*c.out[1]).scalar<u64>(k).scalar<u64>(per).scalar(c.param<BatchNormParams>().eps);
  l.run({static_cast<size_t>(std::max(k * per, k))});
}
TANDEM_KERNEL(opencl_kernels, batchnorm_fold, batchnorm_fold);

void batchnorm_backward(const OpCall& c) {
  const Tensor &x = *c.in[0], &dy = *c.in[1], &dx = *c.out[0];
  const Planes pl = planes(x.shape());
  if (pl.c == 0) return;
  Scratch coef(c, static_cast<size_t>(pl.c) * 3 * sizeof(float));  // (a, b, k) per channel
  Launch r(c, "batchnorm", "batchnorm_backward_reduce_f32");
  for (const Tensor* t : c.in) r.arg(*t);
  r.arg(*c.out[1])
      .arg(*c.out[2])
      .arg(coef.get())
      .scalar<u64>(pl.n)
      .scalar<u64>(pl.c)
      .scalar<u64>(pl.inner)
      .run({static_cast<size_t>(pl.c) * wg}, {wg});
  Launch(c, "batchnorm", "batchnorm_backward_apply_f32")
      .arg(x)
      .arg(dy)
      .arg(*c.in[3])
      .arg(coef.get())
      .arg(dx)
      .scalar<u64>(pl.c)
      .scalar<u64>(pl.inner)
      .scalar<u64>(n_of(dx))
      .run({n_of(dx)});
}
TANDEM_KERNEL(opencl_kernels, batchnorm_backward, batchnorm_backward);

}  // namespace
}  // namespace tandem::opencl
