// Host side of the layer ops: argument checks the CPU kernels make (labels, indices), then one
// launch per op on the call's stream. Kernels: kernels/{elementwise,gemm,conv,pool_loss}.cl.
// The op validators admit f32 only, except gemm (also f16/bf16).
#include <string>
#include <vector>

#include "cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

using u64 = cl_ulong;

size_t n_of(const Tensor& t) { return static_cast<size_t>(t.numel()); }

void relu_forward(const OpCall& c) {
  const Tensor& y = *c.out[0];
  Launch(c, "elementwise", "relu_forward_f32").arg(*c.in[0]).arg(y).scalar<u64>(n_of(y)).run({n_of(y)});
}
TANDEM_KERNEL(opencl_kernels, relu_forward, relu_forward);

void relu_backward(const OpCall& c) {
  const Tensor& dx = *c.out[0];
  Launch(c, "elementwise", "relu_backward_f32")
      .arg(*c.in[0])
      .arg(*c.in[1])
      .arg(dx)
      .scalar<u64>(n_of(dx))
      .run({n_of(dx)});
}
TANDEM_KERNEL(opencl_kernels, relu_backward, relu_backward);

void bias_add(const OpCall& c) {
  const Tensor& y = *c.out[0];
  const Planes p = planes(y.shape());
  Launch(c, "elementwise", "bias_add_f32")
      .arg(*c.in[0])
      .arg(y)
      .scalar<u64>(p.c)
      .scalar<u64>(p.inner)
      .scalar<u64>(n_of(y))
      .run({n_of(y)});
}
TANDEM_KERNEL(opencl_kernels, bias_add, bias_add);

void bias_backward(const OpCall& c) {
  const Planes p = planes(c.in[0]->shape());
  constexpr size_t wg = 64;  // BIAS_WG in elementwise.cl
  Launch(c, "elementwise", "bias_backward_f32")
      .arg(*c.in[0])
      .arg(*c.out[0])
      .scalar<u64>(p.n)
      .scalar<u64>(p.c)
      .scalar<u64>(p.inner)
      .run({static_cast<size_t>(p.c) * wg}, {wg});
}
TANDEM_KERNEL(opencl_kernels, bias_backward, bias_backward);

void gemm_f32(const OpCall& c, const Tensor& a, const Tensor& b, const Tensor& out) {
  const auto& p = c.param<GemmParams>();
  const int m = c.count32(out.shape()[0], "m"), n = c.count32(out.shape()[1], "n");
  const int k = c.count32(p.trans_a ? a.shape()[0] : a.shape()[1], "k");
  const auto t = static_cast<size_t>(cl_device(c).tile());
  Launch(c, "gemm", "gemm_f32")
      .arg(a)
      .arg(b)
      .arg(out)
      .scalar(m)
      .scalar(n)
      .scalar(k)
      .scalar<int>(p.trans_a)
      .scalar<int>(p.trans_b)
      .scalar(p.alpha)
      .scalar(p.beta)
      .run({static_cast<size_t>(n), static_cast<size_t>(m)}, {t, t});
}

// f16/bf16 as on the CPU: the operands widened to f32 (scratch tensors, freed once the queued
// kernels are done), multiplied in f32, the result narrowed once.
void gemm(const OpCall& c) {
  const Tensor &a = *c.in[0], &b = *c.in[1], &out = *c.out[0];
  if (out.dtype() == DType::f32) return gemm_f32(c, a, b, out);
  auto widened = [&](const Tensor& t) {
    Tensor w = Tensor::empty(t.device(), t.shape());
    cast_into(c, t, w);
    return w;
  };
  const Tensor wa = widened(a), wb = widened(b);
  // beta = 0 does not read c, which may hold anything.
  const Tensor wc = c.param<GemmParams>().beta != 0.0f ? widened(out) : Tensor::empty(out.device(), out.shape());
  gemm_f32(c, wa, wb, wc);
  cast_into(c, wc, out);
}
TANDEM_KERNEL(opencl_kernels, gemm, gemm);

// Launches a conv kernel over `items` work-items with the geometry of x, w, y.
void conv(const OpCall& c, const char* kernel, const Tensor& in0, const Tensor& in1, const Tensor& out, const Shape& x,
          const Shape& w, const Shape& y, size_t items) {
  const auto& p = c.param<Conv2dParams>();
  Launch l(c, "conv", kernel);
  l.arg(in0).arg(in1).arg(out);
  for (int64_t v : {x[0], x[1], x[2], x[3], w[0], w[2], w[3], y[2], y[3]}) l.scalar(c.count32(v, "size"));
  l.scalar(p.stride_h).scalar(p.stride_w).scalar(p.pad_h).scalar(p.pad_w).run({items});
}

void conv2d_forward(const OpCall& c) {
  const Tensor &x = *c.in[0], &w = *c.in[1], &y = *c.out[0];
  conv(c, "conv2d_forward_f32", x, w, y, x.shape(), w.shape(), y.shape(), n_of(y));
}
TANDEM_KERNEL(opencl_kernels, conv2d_forward, conv2d_forward);

void conv2d_backward_data(const OpCall& c) {
  const Tensor &dy = *c.in[0], &w = *c.in[1], &dx = *c.out[0];
  conv(c, "conv2d_backward_data_f32", dy, w, dx, dx.shape(), w.shape(), dy.shape(), n_of(dx));
}
TANDEM_KERNEL(opencl_kernels, conv2d_backward_data, conv2d_backward_data);

void conv2d_backward_weights(const OpCall& c) {
  const Tensor &x = *c.in[0], &dy = *c.in[1], &dw = *c.out[0];
  conv(c, "conv2d_backward_weights_f32", x, dy, dw, x.shape(), dw.shape(), dy.shape(), n_of(dw));
}
TANDEM_KERNEL(opencl_kernels, conv2d_backward_weights, conv2d_backward_weights);

void maxpool2d_forward(const OpCall& c) {
  const auto& p = c.param<Pool2dParams>();
  const Shape &x = c.in[0]->shape(), &y = c.out[0]->shape();
  Launch(c, "pool_loss", "maxpool2d_forward_f32")
      .arg(*c.in[0])
      .arg(*c.out[0])
      .arg(*c.out[1])
      .scalar<u64>(static_cast<u64>(x[0] * x[1]))
      .scalar(c.count32(x[2], "height"))
      .scalar(c.count32(x[3], "width"))
      .scalar(c.count32(y[2], "height"))
      .scalar(c.count32(y[3], "width"))
      .scalar(p.kernel)
      .scalar(p.stride)
      .run({n_of(*c.out[0])});
}
TANDEM_KERNEL(opencl_kernels, maxpool2d_forward, maxpool2d_forward);

void maxpool2d_backward(const OpCall& c) {
  const Tensor &dy = *c.in[0], &idx = *c.in[1], &dx = *c.out[0];
  const int per_out = c.count32(dy.shape()[2] * dy.shape()[3], "outputs");
  const int per_in = c.count32(dx.shape()[2] * dx.shape()[3], "inputs");
  // Indices come from outside the op: check them all before writing anything (a kernel would
  // scatter out of bounds), with the CPU's message.
  std::vector<int32_t> is(n_of(idx));
  read_back(c, idx, is.data());
  check_indices(c, pool_index_range(c), is.data(), idx.numel());
  const size_t planes = static_cast<size_t>(dy.shape()[0] * dy.shape()[1]);
  Launch(c, "pool_loss", "maxpool2d_backward_f32")
      .arg(dy)
      .arg(idx)
      .arg(dx)
      .scalar<u64>(planes)
      .scalar(per_out)
      .scalar(per_in)
      .run({planes});
}
TANDEM_KERNEL(opencl_kernels, maxpool2d_backward, maxpool2d_backward);

// Labels come from data files: read back and checked before any output is written.
void check_labels(const OpCall& c, const Tensor& labels) {
  std::vector<int32_t> ls(n_of(labels));
  read_back(c, labels, ls.data());
  check_indices(c, label_range(c), ls.data(), labels.numel());
}

void softmax_xent_forward(const OpCall& c) {
  const Tensor &logits = *c.in[0], &labels = *c.in[1];
  const u64 rows = static_cast<u64>(logits.shape()[0]), k = static_cast<u64>(logits.shape()[1]);
  check_labels(c, labels);
  Scratch row_loss(c, rows * (cl_device(c).fp64() ? sizeof(double) : sizeof(float)));  // acc_t per row
  Launch(c, "pool_loss", "softmax_xent_rows_f32")
      .arg(logits)
      .arg(labels)
      .arg(*c.out[0])
      .arg(row_loss.get())
      .scalar(rows)
      .scalar(k)
      .run({rows});
  Launch(c, "pool_loss", "softmax_xent_mean_f32").arg(row_loss.get()).arg(*c.out[1]).scalar(rows).run({1});
}
TANDEM_KERNEL(opencl_kernels, softmax_xent_forward, softmax_xent_forward);

void softmax_xent_backward(const OpCall& c) {
  const Tensor &probs = *c.in[0], &labels = *c.in[1];
  const u64 rows = static_cast<u64>(probs.shape()[0]), k = static_cast<u64>(probs.shape()[1]);
  check_labels(c, labels);
  const float g = c.param<ScaleParams>().alpha / static_cast<float>(rows);
  Launch(c, "pool_loss", "softmax_xent_backward_f32")
      .arg(probs)
      .arg(labels)
      .arg(*c.out[0])
      .scalar(rows)
      .scalar(k)
      .scalar(g)
      .run({n_of(probs)});
}
TANDEM_KERNEL(opencl_kernels, softmax_xent_backward, softmax_xent_backward);

}  // namespace


}  // namespace tandem::opencl
