// Low-rank codec primitive: orthonormalization of a tall matrix's columns (PowerSGD's P).
// Products of the factors go through gemm.
#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

void validate(const OpCall& c) {
  const Tensor& a = *c.out[0];
  opcheck::dtype(c, a, DType::f32);
  opcheck::rank(c, a, 2);
}

// Two passes of Gram–Schmidt: about 4·m·r² flops, reading and writing a each time.
OpCost cost(const OpCall& c) {
  const Tensor& a = *c.out[0];
  const double m = static_cast<double>(a.shape()[0]), r = static_cast<double>(a.shape()[1]);
  return {4.0 * m * r * r, 4.0 * static_cast<double>(a.nbytes())};
}

}  // namespace

const OpDesc opdesc::orthonormalize("orthonormalize", {}, {updates("a")}, validate, cost);

void ops::orthonormalize(Stream& s, const Tensor& a) { dispatch(s, opdesc::orthonormalize, {}, {&a}); }

}  // namespace tandem
