// Host side of softmax cross-entropy (softmax_xent.cl): labels are read back and checked before
// anything is written. f32.
#include <string>
#include <vector>

#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

using u64 = cl_ulong;

// Labels come from data files: read back and checked before any output is written. Returns
// how many rows are kept (label ≠ the ignore index): the loss's denominator.
u64 check_labels(const OpCall& c, const Tensor& labels) {
  std::vector<int32_t> ls(n_of(labels));
  read_back(c, labels, ls.data());
  check_indices(c, label_range(c), ls.data(), labels.numel());
  const int32_t ignore = c.param<XentParams>().ignore_index;
  u64 kept = 0;
  for (int32_t l : ls) kept += l != ignore;
  return kept;
}

void softmax_xent_forward(const OpCall& c) {
  const Tensor &logits = *c.in[0], &labels = *c.in[1];
  const u64 rows = static_cast<u64>(logits.shape()[0]), k = static_cast<u64>(logits.shape()[1]);
  const u64 kept = check_labels(c, labels);
  const cl_int ignore = c.param<XentParams>().ignore_index;
  Scratch row_loss(c, rows * (cl_device(c).fp64() ? sizeof(double) : sizeof(float)));  // acc_t per row
  Launch(c, "softmax_xent", "softmax_xent_rows_f32")
      .arg(logits)
      .arg(labels)
      .arg(*c.out[0])
      .arg(row_loss.get())
      .scalar(rows)
      .scalar(k)
      .scalar(ignore)
      .run({rows});
  Launch(c, "softmax_xent", "softmax_xent_mean_f32").arg(row_loss.get()).arg(*c.out[1]).scalar(rows).scalar(kept).run({1});
}
TANDEM_KERNEL(opencl_kernels, softmax_xent_forward, softmax_xent_forward);

void softmax_xent_backward(const OpCall& c) {
  const Tensor &probs = *c.in[0], &labels = *c.in[1];
  const u64 rows = static_cast<u64>(probs.shape()[0]), k = static_cast<u64>(probs.shape()[1]);
  const u64 kept = check_labels(c, labels);
  const auto& p = c.param<XentParams>();
  const float g = kept == 0 ? 0.0f : p.dloss / static_cast<float>(kept);
  Launch(c, "softmax_xent", "softmax_xent_backward_f32")
      .arg(probs)
      .arg(labels)
      .arg(*c.out[0])
      .scalar(rows)
      .scalar(k)
      .scalar(g)
      .scalar(static_cast<cl_int>(p.ignore_index))
      .run({n_of(probs)});
}
TANDEM_KERNEL(opencl_kernels, softmax_xent_backward, softmax_xent_backward);

}  // namespace
}  // namespace tandem::opencl
