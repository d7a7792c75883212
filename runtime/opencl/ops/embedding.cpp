// Host side of embedding_forward and embedding_backward (embedding.cl): the ids are read back and
// checked before anything is written, with the CPU's message. f32 rows, i32 ids.
#include <vector>

#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

using u64 = cl_ulong;

// Ids come from data: a kernel would read or write outside the table.
void check_ids(const OpCall& c, const Tensor& ids) {
  std::vector<int32_t> v(n_of(ids));
  read_back(c, ids, v.data());
  check_indices(c, embedding_index_range(c), v.data(), ids.numel());
}

void embedding_forward(const OpCall& c) {
  const Tensor &ids = *c.in[0], &table = *c.in[1];
  check_ids(c, ids);
  const u64 n = n_of(ids), d = static_cast<u64>(table.shape()[1]);
  Launch(c, "embedding", "embedding_forward_f32").arg(ids).arg(table).arg(*c.out[0]).scalar(n).scalar(d).run({n * d});
}
TANDEM_KERNEL(opencl_kernels, embedding_forward, embedding_forward);

void embedding_backward(const OpCall& c) {
  const Tensor &ids = *c.in[0], &dtable = *c.out[0];
  check_ids(c, ids);
  const u64 n = n_of(ids), d = static_cast<u64>(dtable.shape()[1]);
  if (n == 0) return;
  Launch(c, "embedding", "embedding_backward_f32").arg(ids).arg(*c.in[1]).arg(dtable).scalar(n).scalar(d).run({d});
}
TANDEM_KERNEL(opencl_kernels, embedding_backward, embedding_backward);

}  // namespace
}  // namespace tandem::opencl
