// Orthonormalization on the CPU: modified Gram–Schmidt over the columns of a row-major [m, r]
// matrix, twice ("twice is enough", Giraud et al. 2005), sums in f64. r is small (a PowerSGD
// rank), so one thread does it.
#include <cmath>
#include <vector>

#include "../kernels.h"

namespace tandem::cpu {

void orthonormalize(const OpCall& call) {
  const Tensor& a = *call.out[0];
  float* p = static_cast<float*>(a.data());
  const int64_t m = a.shape()[0], r = a.shape()[1];
  auto dot = [&](int64_t i, int64_t j) {
    double s = 0;
    for (int64_t row = 0; row < m; ++row) s += double(p[row * r + i]) * p[row * r + j];
    return s;
  };
  for (int64_t j = 0; j < r; ++j) {
    const double before = std::sqrt(dot(j, j));
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t i = 0; i < j; ++i) {
        const double d = dot(i, j);
        for (int64_t row = 0; row < m; ++row) p[row * r + j] -= static_cast<float>(d * p[row * r + i]);
      }
    const double after = std::sqrt(dot(j, j));
    // What is left of a column that lies in the span of the earlier ones is rounding noise.
    const double inv = after > 1e-5 * before && after > 0 ? 1.0 / after : 0.0;
    for (int64_t row = 0; row < m; ++row) p[row * r + j] = static_cast<float>(p[row * r + j] * inv);
  }
}
TANDEM_KERNEL(cpu_kernels, orthonormalize, orthonormalize);

}  // namespace tandem::cpu
