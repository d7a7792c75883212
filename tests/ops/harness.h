// Shared pieces of the op suites: every test is parametrized over tandem::devices(), so a new
// backend joins by registering its devices — nothing here names a backend.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reference.h"
#include "tandem/error.h"
#include "tandem/ops.h"

namespace tandem::test {

/// Ids of every registered device, as gtest parameter names ("cpu_0").
std::vector<std::string> device_ids();
std::string param_name(const std::string& s);

/// Uploads host values to the device in the given floating dtype (rounding on the host).
Tensor up(const Device& d, const ref::Host& h, DType t = DType::f32);
Tensor up_i32(const Device& d, const Shape& s, const std::vector<int32_t>& v);
/// Downloads as f32.
ref::Host down(const Tensor& t);
/// The values a dtype can hold: h rounded to f16/bf16 and back.
ref::Host rounded(const ref::Host& h, DType t);

/// Expects |got − want| ≤ atol + rtol·|want| everywhere; reports the mismatch count, the
/// worst element and the largest error.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, double atol, double rtol,
                  const std::string& what);

/// Runs f, which must throw a tandem::Error (of `kind`, when given) whose message contains every
/// fragment. The one way the suites check error messages.
template <class F>
void expect_error(F&& f, std::optional<ErrorKind> kind, std::initializer_list<std::string> fragments) {
  try {
    f();
    ADD_FAILURE() << "no error thrown; expected one containing '" << *fragments.begin() << "'";
  } catch (const Error& e) {
    if (kind) {
      EXPECT_EQ(e.kind(), *kind) << e.what();
    }
    for (const std::string& frag : fragments)
      EXPECT_NE(std::string(e.what()).find(frag), std::string::npos) << "'" << frag << "' not in: " << e.what();
  }
}
template <class F>
void expect_error(F&& f, std::initializer_list<std::string> fragments) {
  expect_error(std::forward<F>(f), std::nullopt, fragments);
}

/// Why a device of this kind is expected to refuse the op (in the case of that name: some
/// refusals are for a variant, such as f16 storage), or nullopt when it must run it. The table
/// is tests/ops/expected_support.cpp.
std::optional<std::string> expected_refusal(const Device& d, const OpDesc& op, std::string_view case_name = {});
/// The failure message for a refusal the table does not list.
std::string unexpected_refusal(const Device& d, const OpDesc& op, const std::string& refusal);

/// When the device lacks a kernel for the op: skips the current test if the expected-support
/// table says so (NOT_SUPPORTED, with the reason), fails it otherwise.
#define TANDEM_SKIP_UNLESS_SUPPORTS(device, opdesc)                                                     \
  do {                                                                                                  \
    if (!(device).supports(opdesc)) {                                                                   \
      if (const auto why_ = ::tandem::test::expected_refusal(device, opdesc))                           \
        GTEST_SKIP() << "NOT_SUPPORTED (expected: " << *why_ << "): " << (opdesc).name << " on " << (device).id(); \
      FAIL() << ::tandem::test::unexpected_refusal(device, opdesc, "no kernel");                        \
    }                                                                                                   \
  } while (0)

}  // namespace tandem::test
