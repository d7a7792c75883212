#include "tandem/error.h"

namespace tandem {
namespace {

std::string compose(const std::string& device, const std::string& op, const std::string& detail) {
  std::string m = "tandem: ";
  if (!device.empty()) m += device + " ";
  if (!op.empty()) m += op + ": ";
  return m + detail;
}

}  // namespace

std::string_view error_kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::invalid_argument:
      return "invalid argument";
    case ErrorKind::unsupported:
      return "unsupported";
    case ErrorKind::out_of_memory:
      return "out of memory";
    case ErrorKind::device:
      return "device error";
    case ErrorKind::io:
      return "i/o error";
    case ErrorKind::communication:
      return "communication error";
    case ErrorKind::timeout:
      return "timeout";
    case ErrorKind::internal:
      return "internal error";
  }
  return "?";
}

Error::Error(ErrorKind kind, std::string device, std::string op, std::string detail)
    : std::runtime_error(compose(device, op, detail)),
      kind_(kind),
      device_(std::move(device)),
      op_(std::move(op)),
      detail_(std::move(detail)) {}

}  // namespace tandem
