// Host side of orthonormalize (lowrank.cl), PowerSGD's Gram–Schmidt.
#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

void orthonormalize(const OpCall& c) {
  const Tensor& a = *c.out[0];
  constexpr size_t wg = 64;  // ORTHO_WG in lowrank.cl: one work-group does it all
  Launch(c, "lowrank", "orthonormalize_f32")
      .arg(a)
      .scalar<cl_long>(a.shape()[0])
      .scalar<cl_long>(a.shape()[1])
      .run({wg}, {wg});
}

const char* orthonormalize_unsupported(const OpCall& c) {
  return cl_device(c).fp64()
             ? nullptr
             : "its dot products sum in double, as the CPU's do, and this OpenCL device lacks cl_khr_fp64";
}

}  // namespace

TANDEM_KERNEL(opencl_kernels, orthonormalize, orthonormalize, orthonormalize_unsupported);

}  // namespace tandem::opencl
