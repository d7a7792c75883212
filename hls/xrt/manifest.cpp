#include "manifest.h"

#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <type_traits>
#include <utility>

#include "tandem/error.h"
#include "tandem/file.h"
#include "tandem/json_read.h"

namespace tandem::fpga {
namespace {

constexpr const char* kFormat = "tandem-xclbin-manifest";
constexpr int kVersion = 1;
constexpr int64_t kMaxComputeUnits = 128;

[[noreturn]] void bad(const std::string& path, const std::string& detail) {
  throw Error(ErrorKind::invalid_argument, "", "manifest", path + ": " + detail);
}

template <class T>
T field(const nlohmann::json& j, const char* key, const std::string& path, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) bad(path, where + " has no \"" + key + "\"");
  if constexpr (std::is_integral_v<T>) {
    // Only integers that fit are taken (json_integer: the library's get<T> casts floats).
    const nlohmann::json& v = j.at(key);
    if (!v.is_number_integer()) bad(path, where + " \"" + key + "\" has the wrong type (" + v.dump() + ")");
    if (!json_integer<T>(v)) bad(path, where + " \"" + key + "\" is out of range (" + v.dump() + ")");
  }
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    bad(path, where + " \"" + key + "\" has the wrong type (" + j.at(key).dump() + ")");
  }
}

// Kernels and their arguments are HLS C functions and parameters: their names are C identifiers.
// (XRT matches compute units with regular expressions built from kernel names: "k)" made its
// parser throw.)
bool c_identifier(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

ManifestArg parse_arg(const nlohmann::json& j, const std::string& path, const std::string& kernel, size_t position) {
  const std::string where = "kernel " + kernel + " argument " + std::to_string(position);
  ManifestArg a;
  a.index = field<int>(j, "index", path, where);
  a.name = field<std::string>(j, "name", path, where);
  if (!c_identifier(a.name)) bad(path, where + " name '" + a.name + "' is not a C identifier");
  a.type = field<std::string>(j, "type", path, where);
  if (a.index != static_cast<int>(position))
    bad(path, where + " ('" + a.name + "') has index " + std::to_string(a.index) + "; indices are positions");
  if (a.pointer())
    a.bank = field<std::string>(j, "bank", path, where + " ('" + a.name + "')");
  else if (j.contains("bank"))
    bad(path, where + " ('" + a.name + "') is a scalar (" + a.type + ") but names a bank");
  type_size(a.type);  // rejects types the driver cannot pass
  return a;
}

}  // namespace

const ManifestKernel* Manifest::kernel(std::string_view name) const {
  for (const ManifestKernel& k : kernels)
    if (k.name == name) return &k;
  return nullptr;
}

const ManifestBank* Manifest::bank(std::string_view name) const {
  for (const ManifestBank& b : banks)
    if (b.name == name) return &b;
  return nullptr;
}

std::string Manifest::file_name() const {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string canonical_type(std::string_view type) {
  std::string t(type);
  for (size_t p; (p = t.find("const")) != std::string::npos;) t.erase(p, 5);
  std::string stars;
  while (!t.empty() && (t.back() == '*' || t.back() == ' ')) {
    if (t.back() == '*') stars += '*';
    t.pop_back();
  }
  // Collapse runs of spaces and trim, so "unsigned  long" matches "unsigned long".
  std::istringstream words(t);
  std::string base, w;
  while (words >> w) base += (base.empty() ? "" : " ") + w;
  static const std::map<std::string, std::string> aliases = {
      {"char", "int8"},           {"signed char", "int8"},
      {"int8_t", "int8"},         {"unsigned char", "uint8"},
      {"uint8_t", "uint8"},       {"short", "int16"},
      {"int16_t", "int16"},       {"unsigned short", "uint16"},
      {"uint16_t", "uint16"},     {"int", "int32"},
      {"int32_t", "int32"},       {"unsigned", "uint32"},
      {"unsigned int", "uint32"}, {"uint32_t", "uint32"},
      {"long", "int64"},          {"long long", "int64"},
      {"int64_t", "int64"},       {"unsigned long", "uint64"},
      {"uint64_t", "uint64"},     {"unsigned long long", "uint64"}};
  const auto it = aliases.find(base);
  return (it == aliases.end() ? base : it->second) + stars;
}

size_t type_size(std::string_view type) {
  const std::string c = canonical_type(type);
  if (!c.empty() && c.back() == '*') return 8;
  static const std::map<std::string, size_t> sizes = {{"int8", 1},   {"uint8", 1},  {"int16", 2}, {"uint16", 2},
                                                      {"int32", 4},  {"uint32", 4}, {"float", 4}, {"int64", 8},
                                                      {"uint64", 8}, {"double", 8}};
  const auto it = sizes.find(c);
  if (it == sizes.end())
    throw Error(ErrorKind::unsupported, "", "manifest", "argument type '" + std::string(type) + "' is not supported");
  return it->second;
}

Manifest parse_manifest(std::string_view json_text, const std::string& path) {
  // Copying and writing JSON recurse once per level: deeper text could overflow the stack.
  if (json_depth(json_text) > max_json_depth)
    bad(path, "nests deeper than " + std::to_string(max_json_depth) + " levels");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for a number like 5e5555
    bad(path, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) bad(path, "not a JSON object");
  // Compared as JSON: value("format", "") threw the library's type_error for a non-string format.
  if (!j.contains("format") || j["format"] != kFormat) bad(path, std::string("\"format\" is not \"") + kFormat + "\"");
  if (field<int>(j, "version", path, "the manifest") != kVersion)
    bad(path, "version " + j["version"].dump() + " (this build reads version " + std::to_string(kVersion) + ")");

  Manifest m;
  m.path = path;
  m.card = field<std::string>(j, "card", path, "the manifest");
  m.platform = field<std::string>(j, "platform", path, "the manifest");
  m.kernel_clock_mhz = field<int>(j, "kernel_clock_mhz", path, "the manifest");
  const nlohmann::json memory = field<nlohmann::json>(j, "memory", path, "the manifest");
  m.memory_type = field<std::string>(memory, "type", path, "\"memory\"");
  m.default_bank = field<std::string>(memory, "default_bank", path, "\"memory\"");
  for (const nlohmann::json& b : field<nlohmann::json>(memory, "banks", path, "\"memory\"")) {
    ManifestBank bank;
    bank.name = field<std::string>(b, "name", path, "a bank");
    bank.tags = field<std::vector<std::string>>(b, "tags", path, "bank " + bank.name);
    bank.size_bytes = field<uint64_t>(b, "size_mib", path, "bank " + bank.name);
    if (bank.size_bytes > (UINT64_MAX >> 20)) bad(path, "bank " + bank.name + " is larger than 2^64 bytes");
    bank.size_bytes <<= 20;
    if (bank.tags.empty()) bad(path, "bank " + bank.name + " has no tags");
    for (const std::string& t : bank.tags)
      if (t.empty() || t.size() > 15) bad(path, "bank " + bank.name + " tag '" + t + "' is not 1..15 characters");
    if (m.bank(bank.name)) bad(path, "bank " + bank.name + " is listed twice");
    m.banks.push_back(std::move(bank));
  }
  if (!m.bank(m.default_bank)) bad(path, "default bank " + m.default_bank + " is not among the banks");

  for (const nlohmann::json& k : field<nlohmann::json>(j, "kernels", path, "the manifest")) {
    ManifestKernel kernel;
    kernel.name = field<std::string>(k, "name", path, "a kernel");
    if (!c_identifier(kernel.name)) bad(path, "kernel name '" + kernel.name + "' is not a C identifier");
    kernel.instances = field<int>(k, "instances", path, "kernel " + kernel.name);
    if (kernel.instances < 1)
      bad(path, "kernel " + kernel.name + " has " + std::to_string(kernel.instances) + " instances");
    if (m.kernel(kernel.name)) bad(path, "kernel " + kernel.name + " is listed twice");
    std::set<std::string> names;
    for (const nlohmann::json& a : field<nlohmann::json>(k, "args", path, "kernel " + kernel.name)) {
      ManifestArg arg = parse_arg(a, path, kernel.name, kernel.args.size());
      if (!names.insert(arg.name).second) bad(path, "kernel " + kernel.name + " has two arguments named " + arg.name);
      if (arg.pointer() && !m.bank(arg.bank))
        bad(path, "kernel " + kernel.name + " argument " + std::to_string(arg.index) + " ('" + arg.name +
                      "') is wired to " + arg.bank + ", which is not among the banks");
      kernel.args.push_back(std::move(arg));
    }
    m.kernels.push_back(std::move(kernel));
  }
  if (m.kernels.empty()) bad(path, "lists no kernels");
  // XRT's commands address at most 128 compute units (a CU mask and three extra ones, ert.h): a
  // count beyond it cannot run, and the packer would lay out (and sum, in an int) any count.
  int64_t cus = 0;
  for (const ManifestKernel& k : m.kernels) cus += k.instances;
  if (cus > kMaxComputeUnits)
    bad(path,
        std::to_string(cus) + " compute units in all; an xclbin holds at most " + std::to_string(kMaxComputeUnits));
  return m;
}

Manifest load_manifest(const std::string& path) {
  return parse_manifest(read_file(path, "manifest " + path, 16u << 20), path);
}

}  // namespace tandem::fpga
