#include "harness.h"

#include <cctype>
#include <cmath>

namespace tandem::test {

std::vector<std::string> device_ids() {
  std::vector<std::string> ids;
  for (const Device& d : devices()) ids.push_back(d.id());
  return ids;
}

std::string param_name(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

Tensor up(const Device& d, const ref::Host& h, DType t) {
  std::vector<char> raw(static_cast<size_t>(h.numel()) * dtype_size(t));
  from_f32(t, h.v.data(), raw.data(), h.v.size());
  return Tensor::from_host(d, h.shape, t, raw.data());
}

Tensor up_i32(const Device& d, const Shape& s, const std::vector<int32_t>& v) { return Tensor::from_vector(d, s, v); }

ref::Host down(const Tensor& t) { return {t.shape(), t.to_f32()}; }

ref::Host rounded(const ref::Host& h, DType t) {
  std::vector<char> raw(h.v.size() * dtype_size(t));
  from_f32(t, h.v.data(), raw.data(), h.v.size());
  ref::Host out = h;
  to_f32(t, raw.data(), out.v.data(), out.v.size());
  return out;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double atol, double rtol,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  size_t bad = 0, first = 0;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(double(got[i]) - want[i]);
    const bool ok = got[i] == want[i] || err <= atol + rtol * std::fabs(double(want[i])) ||
                    (std::isnan(got[i]) && std::isnan(want[i]));
    if (!ok && bad++ == 0) first = i;
    if (!std::isnan(err)) worst = std::max(worst, err);
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << got.size() << " elements differ; first at " << first
                     << " (got " << (bad ? got[first] : 0) << ", want " << (bad ? want[first] : 0)
                     << "), max abs error " << worst;
}

}  // namespace tandem::test
