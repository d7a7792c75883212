// Host side of the sparse codec primitives (sparse.cl).
// Sampling and random fill draw the CPU's Philox words and match it bit for bit; kth_magnitude
// and compact select exactly what the CPU selects; scatter_add adds in the CPU's order.
#include <algorithm>
#include <string>
#include <vector>

#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

cl_ulong blocks_of(cl_ulong n, cl_ulong block) { return (n + block - 1) / block; }

void sample(const OpCall& c) {
  const auto& p = c.param<SampleParams>();
  const int64_t k = c.out[0]->numel();
  Launch(c, "sparse", "sample_f32")
      .arg(*c.in[0])
      .arg(*c.out[0])
      .arg(*c.out[1])
      .scalar<cl_long>(c.in[0]->numel())
      .scalar<cl_long>(k)
      .scalar<cl_int>(p.scaled)
      .key(p.key)
      .run({static_cast<size_t>(k)});
}
TANDEM_KERNEL(opencl_kernels, sample, sample);

void random_fill(const OpCall& c) {
  const auto& p = c.param<RandomFillParams>();
  const auto n = static_cast<cl_ulong>(c.out[0]->numel());
  const cl_ulong blocks = (p.key.offset + n + 3) / 4 - p.key.offset / 4;  // the Philox blocks y draws from
  Launch(c, "sparse", "random_fill_f32").arg(*c.out[0]).scalar(n).scalar(p.lo).scalar(p.hi).key(p.key).run({blocks});
}
TANDEM_KERNEL(opencl_kernels, random_fill, random_fill);

void scatter_add(const OpCall& c) {
  const Tensor &idx = *c.in[0], &y = *c.out[0];
  const auto m = static_cast<cl_ulong>(idx.numel());
  if (m == 0) return;
  // Indices come from outside the op: check them all before writing anything (a kernel would
  // write out of bounds), with the CPU's message.
  std::vector<int32_t> is(m);
  read_back(c, idx, is.data());
  bool increasing = true;
  check_indices(c, scatter_index_range(c), is.data(), static_cast<int64_t>(m));
  for (size_t j = 1; j < is.size(); ++j) increasing = increasing && is[j] > is[j - 1];
  // Distinct indices (compact and sample give increasing ones) add in parallel; otherwise one
  // work-item adds them all in order, so repeated indices sum as on the CPU.
  const cl_ulong per = increasing ? 1 : m;
  Launch(c, "sparse", "scatter_add_f32").arg(idx).arg(*c.in[1]).arg(y).scalar(m).scalar(per).run({blocks_of(m, per)});
}
TANDEM_KERNEL(opencl_kernels, scatter_add, scatter_add);

void kth_magnitude(const OpCall& c) {
  const Tensor& x = *c.in[0];
  const auto n = static_cast<cl_ulong>(c.count32(x.numel(), "element count"));  // the counts are 32-bit
  Scratch state(c, 3 * sizeof(cl_uint)), hist(c, 256 * sizeof(cl_uint));
  Launch(c, "sparse", "kth_init")
      .arg(state.get())
      .arg(hist.get())
      .scalar<cl_uint>(static_cast<cl_uint>(c.param<SelectParams>().k))
      .run({256});
  constexpr size_t wg = 64;  // KTH_WG in sparse.cl
  // A few work-groups per compute unit, each item striding over many elements: fewer local
  // histograms to merge.
  const auto units = static_cast<size_t>(std::max(1, c.device.props().compute_units));
  const size_t groups = std::clamp<size_t>(n / (wg * 64), 1, 4 * units);
  for (int shift = 24; shift >= 0; shift -= 8) {
    Launch(c, "sparse", "kth_histogram")
        .arg(x)
        .scalar(n)
        .arg(state.get())
        .arg(hist.get())
        .scalar<cl_int>(shift)
        .run({groups * wg}, {wg});
    Launch(c, "sparse", "kth_pick").arg(state.get()).arg(hist.get()).arg(*c.out[0]).scalar<cl_int>(shift).run({1});
  }
}
TANDEM_KERNEL(opencl_kernels, kth_magnitude, kth_magnitude);

void compact(const OpCall& c) {
  const Tensor &x = *c.in[0], &t = *c.in[1];
  const auto n = static_cast<cl_ulong>(x.numel());
  const cl_ulong blocks = blocks_of(n, 1024);  // COMPACT_BLOCK in sparse.cl
  Scratch greater(c, blocks * sizeof(cl_uint)), equal(c, blocks * sizeof(cl_uint));
  Launch(c, "sparse", "compact_count").arg(x).arg(t).arg(greater.get()).arg(equal.get()).scalar(n).run({blocks});
  Launch(c, "sparse", "compact_offsets")
      .arg(greater.get())
      .arg(equal.get())
      .arg(*c.out[2])
      .scalar(blocks)
      .scalar<cl_long>(c.param<CompactParams>().limit)
      .run({1});
  Launch(c, "sparse", "compact_write")
      .arg(x)
      .arg(t)
      .arg(greater.get())
      .arg(equal.get())
      .arg(*c.out[0])
      .arg(*c.out[1])
      .scalar(n)
      .scalar<cl_ulong>(static_cast<cl_ulong>(c.out[0]->numel()))
      .run({blocks});
}
TANDEM_KERNEL(opencl_kernels, compact, compact);

}  // namespace


}  // namespace tandem::opencl
