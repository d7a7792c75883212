#include "xclbin_check.h"

#include <xclbin.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tandem/error.h"

namespace tandem::fpga {
namespace {

// More kernel arguments than any HLS kernel's register map holds.
constexpr int32_t kMaxKernelArgs = 1024;

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

[[noreturn]] void malformed(const std::string& name, const std::string& detail) {
  throw Error(ErrorKind::invalid_argument, "", "load xclbin", name + ": " + detail);
}

const char* kind_name(uint32_t kind) {
  switch (kind) {
    case EMBEDDED_METADATA:
      return "EMBEDDED_METADATA";
    case MEM_TOPOLOGY:
      return "MEM_TOPOLOGY";
    case CONNECTIVITY:
      return "CONNECTIVITY";
    case IP_LAYOUT:
      return "IP_LAYOUT";
    case ASK_GROUP_TOPOLOGY:
      return "ASK_GROUP_TOPOLOGY";
    case ASK_GROUP_CONNECTIVITY:
      return "ASK_GROUP_CONNECTIVITY";
    default:
      return "section";
  }
}

// A section's bytes, or {nullptr, 0} when the file has none of that kind.
struct Span {
  const char* data = nullptr;
  uint64_t size = 0;
};

int32_t count_of(const Span& s, const std::string& name, uint32_t kind) {
  if (s.size < sizeof(int32_t)) malformed(name, std::string(kind_name(kind)) + " section is empty");
  int32_t n;
  std::memcpy(&n, s.data, sizeof(n));
  if (n < 0) malformed(name, std::string(kind_name(kind)) + " has a negative count");
  return n;
}

// A counted section (struct with m_count then entries at `first`) must hold its entries.
int32_t checked_count(const Span& s, const std::string& name, uint32_t kind, size_t first, size_t entry) {
  const int32_t n = count_of(s, name, kind);
  if (first + static_cast<uint64_t>(n) * entry > s.size)
    malformed(name, std::string(kind_name(kind)) + " says " + std::to_string(n) + " entries but holds " +
                        std::to_string(s.size) + " bytes");
  return n;
}

}  // namespace

void check_container(const std::vector<char>& bytes, const std::string& name) {
  const uint64_t size = bytes.size();
  if (size < sizeof(axlf))
    malformed(name, "truncated: " + std::to_string(size) + " bytes, shorter than the " + std::to_string(sizeof(axlf)) +
                        "-byte xclbin header");
  axlf top;
  std::memcpy(&top, bytes.data(), sizeof(axlf));
  if (std::memcmp(top.m_magic, "xclbin2", 8) != 0) malformed(name, "not an xclbin (no \"xclbin2\" magic)");
  if (top.m_header.m_length != size)
    malformed(name, (top.m_header.m_length > size ? "truncated: " : "trailing bytes: ") +
                        std::string("the header says ") + std::to_string(top.m_header.m_length) +
                        " bytes, the file has " + std::to_string(size));
  const uint64_t sections = top.m_header.m_numSections;
  const uint64_t table = offsetof(axlf, m_sections);
  if (sections == 0 || sections > XCLBIN_MAX_NUM_SECTION || table + sections * sizeof(axlf_section_header) > size)
    malformed(name, "corrupt section table (" + std::to_string(sections) + " sections)");

  Span found[ASK_GROUP_CONNECTIVITY + 1];
  for (uint64_t i = 0; i < sections; ++i) {
    axlf_section_header h;
    std::memcpy(&h, bytes.data() + table + i * sizeof(h), sizeof(h));
    if (h.m_sectionOffset > size || h.m_sectionSize > size - h.m_sectionOffset)
      malformed(name, "section " + std::to_string(i) + " (" + kind_name(h.m_sectionKind) +
                          ") lies outside the file: truncated or corrupt");
    if (h.m_sectionKind <= ASK_GROUP_CONNECTIVITY && found[h.m_sectionKind].data == nullptr)
      found[h.m_sectionKind] = {bytes.data() + h.m_sectionOffset, h.m_sectionSize};
  }
  if (!found[EMBEDDED_METADATA].data) malformed(name, "has no EMBEDDED_METADATA section (kernel descriptions)");
  if (!found[IP_LAYOUT].data) malformed(name, "has no IP_LAYOUT section (compute units)");
  if (!found[MEM_TOPOLOGY].data) malformed(name, "has no MEM_TOPOLOGY section (memory banks)");
  if (!found[CONNECTIVITY].data) malformed(name, "has no CONNECTIVITY section (argument-to-bank wiring)");

  const int32_t ips = checked_count(found[IP_LAYOUT], name, IP_LAYOUT, offsetof(ip_layout, m_ip_data), sizeof(ip_data));
  for (uint32_t kind : {MEM_TOPOLOGY, ASK_GROUP_TOPOLOGY}) {
    if (!found[kind].data) continue;
    const int32_t mems = checked_count(found[kind], name, kind, offsetof(mem_topology, m_mem_data), sizeof(mem_data));
    const uint32_t links_kind = kind == MEM_TOPOLOGY ? CONNECTIVITY : ASK_GROUP_CONNECTIVITY;
    if (!found[links_kind].data) continue;
    const Span& s = found[links_kind];
    const int32_t links = checked_count(s, name, links_kind, offsetof(connectivity, m_connection), sizeof(connection));
    for (int32_t i = 0; i < links; ++i) {
      connection c;
      std::memcpy(&c, s.data + offsetof(connectivity, m_connection) + i * sizeof(connection), sizeof(c));
      if (c.arg_index < 0 || c.m_ip_layout_index < 0 || c.m_ip_layout_index >= ips || c.mem_data_index < 0 ||
          c.mem_data_index >= mems)
        malformed(name, std::string(kind_name(links_kind)) + " entry " + std::to_string(i) +
                            " names a compute unit or bank that does not exist");
      // XRT sizes a kernel's argument list by the largest index it is given, unchecked: an index
      // of 2^30 made it allocate 24 GiB (found by fuzz_manifest, 2026-12-03).
      if (c.arg_index >= kMaxKernelArgs)
        malformed(name, std::string(kind_name(links_kind)) + " entry " + std::to_string(i) + " wires argument " +
                            std::to_string(c.arg_index) + " (a kernel has at most " + std::to_string(kMaxKernelArgs) +
                            ")");
    }
  }
}

::xrt::xclbin parse_xclbin(const std::vector<char>& bytes, const std::string& name) {
  check_container(bytes, name);
  try {
    ::xrt::xclbin x(bytes);
    x.get_kernels();  // parses the metadata XML now, so a bad one fails here, not at first use
    return x;
  } catch (const std::exception& e) {
    malformed(name, std::string("XRT cannot parse it: ") + e.what());
  }
}

::xrt::xclbin read_xclbin(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(ErrorKind::io, "", "load xclbin", "no xclbin file " + path);
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes(std::filesystem::file_size(path, ec));
  if (!in || ec || !in.read(bytes.data(), static_cast<std::streamsize>(bytes.size())))
    throw Error(ErrorKind::io, "", "load xclbin", "cannot read " + path);
  return parse_xclbin(bytes, path);
}

void validate_xclbin(const ::xrt::xclbin& xclbin, const std::string& xclbin_path, const Manifest& m) {
  const std::string file = base_name(xclbin_path), mfile = "the manifest " + m.file_name();
  std::vector<std::string> problems;
  try {
    for (const ManifestKernel& mk : m.kernels) {
      const ::xrt::xclbin::kernel xk = xclbin.get_kernel(mk.name);
      if (!xk) {
        std::string has;
        for (const auto& k : xclbin.get_kernels()) has += (has.empty() ? "" : ", ") + k.get_name();
        problems.push_back("kernel " + mk.name + " is in " + mfile + " but not in " + file +
                           " (it has: " + (has.empty() ? "no kernels" : has) + ")");
        continue;
      }
      const std::string kn = "kernel " + mk.name;
      const size_t cus = xk.get_cus().size();
      if (cus != static_cast<size_t>(mk.instances))
        problems.push_back(kn + " has " + std::to_string(mk.instances) + " instance(s) in " + mfile + " but " +
                           std::to_string(cus) + " compute unit(s) in " + file);
      const std::vector<::xrt::xclbin::arg> args = xk.get_args();
      if (args.size() != mk.args.size()) {
        problems.push_back(kn + " has " + std::to_string(mk.args.size()) + " arguments in " + mfile + " but " +
                           std::to_string(args.size()) + " in " + file);
        continue;
      }
      for (const ManifestArg& ma : mk.args) {
        const ::xrt::xclbin::arg& xa = args[static_cast<size_t>(ma.index)];
        const std::string an = kn + " argument " + std::to_string(ma.index);
        const std::string xname = xa.get_name(), xtype = xa.get_host_type();
        if (xa.get_index() != static_cast<uint64_t>(ma.index) || xname != ma.name) {
          problems.push_back(an + " is '" + ma.name + "' of type " + ma.type + " in " + mfile + " but '" + xname +
                             "' in " + file);
          continue;
        }
        if (canonical_type(xtype) != canonical_type(ma.type)) {
          problems.push_back(an + " ('" + ma.name + "') is of type " + ma.type + " in " + mfile + " but " + xtype +
                             " in " + file);
          continue;
        }
        if (!ma.pointer()) {
          if (xa.get_size() != type_size(ma.type))
            problems.push_back(an + " ('" + ma.name + "') takes " + std::to_string(type_size(ma.type)) + " bytes in " +
                               mfile + " but " + std::to_string(xa.get_size()) + " in " + file);
          continue;
        }
        const ManifestBank& bank = *m.bank(ma.bank);
        std::string wired;
        bool ok = false;
        for (const auto& mem : xa.get_mems()) {
          const std::string tag = mem.get_tag();
          wired += (wired.empty() ? "" : ", ") + tag;
          for (const std::string& t : bank.tags) ok |= t == tag;
        }
        if (!ok)
          problems.push_back(an + " ('" + ma.name + "') is wired to " + ma.bank + " in " + mfile + " but to " +
                             (wired.empty() ? "no memory bank" : wired) + " in " + file);
      }
    }
  } catch (const std::exception& e) {
    problems.push_back("XRT cannot read its kernels: " + std::string(e.what()));
  }
  if (problems.empty()) return;
  std::string detail = problems.front();
  if (problems.size() > 1) detail += " (and " + std::to_string(problems.size() - 1) + " more problem(s))";
  throw Error(ErrorKind::invalid_argument, "", "validate xclbin", detail);
}

}  // namespace tandem::fpga
