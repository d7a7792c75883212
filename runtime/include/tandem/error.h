// The one error type of the C++ API. Messages read as one line naming where and what:
//   tandem: cpu:0 gemm: inner dimensions differ: a f32[3,4], b f32[5,6]
#pragma once

#include <stdexcept>
#include <string>

namespace tandem {

/// What went wrong, coarsely; the C API maps it onto its status codes.
enum class ErrorKind {
  invalid_argument,
  unsupported,
  out_of_memory,
  device,
  io,
  communication,  ///< a collective failed or a peer rank is gone
  timeout,        ///< an operation did not complete in its time limit
  internal
};

std::string_view error_kind_name(ErrorKind k);

class Error : public std::runtime_error {
 public:
  /// device: a device id ("cpu:0") or empty; op: the op or operation ("gemm", "copy") or empty.
  Error(ErrorKind kind, std::string device, std::string op, std::string detail);

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& device() const noexcept { return device_; }
  const std::string& op() const noexcept { return op_; }
  /// The message without the "tandem: <device> <op>:" prefix.
  const std::string& detail() const noexcept { return detail_; }

 private:
  ErrorKind kind_;
  std::string device_, op_, detail_;
};

}  // namespace tandem
