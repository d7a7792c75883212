// Host side of softmax cross-entropy (softmax_xent.cl): labels are read back and checked before
// anything is written. f32.
#include <string>
#include <vector>

#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

using u64 = cl_ulong;

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
  Launch(c, "softmax_xent", "softmax_xent_rows_f32")
      .arg(logits)
      .arg(labels)
      .arg(*c.out[0])
      .arg(row_loss.get())
      .scalar(rows)
      .scalar(k)
      .run({rows});
  Launch(c, "softmax_xent", "softmax_xent_mean_f32").arg(row_loss.get()).arg(*c.out[1]).scalar(rows).run({1});
}
TANDEM_KERNEL(opencl_kernels, softmax_xent_forward, softmax_xent_forward);

void softmax_xent_backward(const OpCall& c) {
  const Tensor &probs = *c.in[0], &labels = *c.in[1];
  const u64 rows = static_cast<u64>(probs.shape()[0]), k = static_cast<u64>(probs.shape()[1]);
  check_labels(c, labels);
  const float g = c.param<ScaleParams>().alpha / static_cast<float>(rows);
  Launch(c, "softmax_xent", "softmax_xent_backward_f32")
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
