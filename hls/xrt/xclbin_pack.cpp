#include "xclbin_pack.h"

#include <xclbin.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "tandem/error.h"

namespace tandem::fpga {
namespace {

// Where compute units sit on the control bus, one 64 KiB window each (what v++ does on Alveo
// shells); XRT orders compute units by this address.
constexpr uint64_t kCuBase = 0x1800000;
constexpr uint64_t kCuRange = 0x10000;
// Vitis HLS register maps start at 0x10 (0x0–0xc hold ap_ctrl and interrupt registers); a
// 64-bit argument takes three 32-bit words (low, high, reserved), a narrower one two.
constexpr uint64_t kFirstArgOffset = 0x10;
// Bank addresses as on an Alveo shell: device memory above 256 GiB.
constexpr uint64_t kMemBase = 0x4000000000;

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string hex(uint64_t v) {
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

std::string port_of(const ManifestArg& a) {
  std::string p = "M_AXI_";
  for (char c : a.name) p += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return p;
}

std::string metadata_xml(const Manifest& m) {
  int cus = 0;
  for (const ManifestKernel& k : m.kernels) cus += k.instances;
  const std::string clock = std::to_string(m.kernel_clock_mhz) + "MHz";
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<project name=\"tandem_" << xml_escape(m.card) << "\">\n"
    << "  <platform vendor=\"xilinx\" boardid=\"" << xml_escape(m.card) << "\" name=\"" << xml_escape(m.platform)
    << "\" featureRomTime=\"0\">\n"
    << "    <version major=\"2\" minor=\"1\"/>\n"
    << "    <description/>\n"
    << "    <device name=\"fpga0\" fpgaDevice=\"\" addrWidth=\"0\">\n"
    << "      <core name=\"OCL_REGION_0\" target=\"hw\" type=\"clc_region\" clockFreq=\"" << clock
    << "\" numComputeUnits=\"" << cus << "\">\n"
    << "        <kernelClocks><clock port=\"KERNEL_CLK\" frequency=\"" << clock << "\"/></kernelClocks>\n";
  uint64_t cu_base = kCuBase;
  for (const ManifestKernel& k : m.kernels) {
    x << "        <kernel name=\"" << xml_escape(k.name) << "\" language=\"c\" vlnv=\"tandem:hls:" << xml_escape(k.name)
      << ":1.0\" preferredWorkGroupSizeMultiple=\"0\" workGroupSize=\"1\" interrupt=\"true\""
      << " hwControlProtocol=\"ap_ctrl_hs\">\n"
      << "          <port name=\"S_AXI_CONTROL\" mode=\"slave\" range=\"0x1000\" dataWidth=\"32\""
      << " portType=\"addressable\" base=\"0x0\"/>\n";
    for (const ManifestArg& a : k.args)
      if (a.pointer())
        x << "          <port name=\"" << port_of(a) << "\" mode=\"master\" range=\"0xFFFFFFFFFFFFFFFF\""
          << " dataWidth=\"512\" portType=\"addressable\" base=\"0x0\"/>\n";
    uint64_t offset = kFirstArgOffset;
    for (const ManifestArg& a : k.args) {
      const size_t size = type_size(a.type);
      x << "          <arg name=\"" << xml_escape(a.name) << "\" addressQualifier=\"" << (a.pointer() ? 1 : 0)
        << "\" id=\"" << a.index << "\" port=\"" << (a.pointer() ? port_of(a) : "S_AXI_CONTROL") << "\" size=\""
        << hex(size) << "\" offset=\"" << hex(offset) << "\" hostOffset=\"0x0\" hostSize=\"" << hex(size)
        << "\" type=\"" << xml_escape(a.type) << "\"/>\n";
      offset += size > 4 ? 0xc : 0x8;
    }
    for (int i = 1; i <= k.instances; ++i, cu_base += kCuRange)
      x << "          <instance name=\"" << xml_escape(k.name) << "_" << i << "\"><addrRemap base=\"" << hex(cu_base)
        << "\" range=\"" << hex(kCuRange) << "\" port=\"S_AXI_CONTROL\"/></instance>\n";
    x << "        </kernel>\n";
  }
  x << "      </core>\n    </device>\n  </platform>\n</project>\n";
  return x.str();
}

template <class T>
void append(std::vector<char>& out, const T& v) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}

// A section whose struct ends in a one-element array: header fields, then `count` entries.
template <class Entry>
std::vector<char> counted_section(const std::vector<Entry>& entries) {
  std::vector<char> out;
  append(out, static_cast<int32_t>(entries.size()));
  // The first entry sits where the struct puts m_*[0]: 8-byte aligned after the count.
  out.resize(8);
  for (const Entry& e : entries) append(out, e);
  return out;
}

std::vector<char> mem_topology_section(const Manifest& m) {
  std::vector<mem_data> banks;
  uint64_t base = kMemBase;
  for (const ManifestBank& b : m.banks) {
    mem_data d{};
    d.m_type = m.memory_type == "HBM" ? MEM_HBM : MEM_DDR4;
    for (const ManifestKernel& k : m.kernels)
      for (const ManifestArg& a : k.args) d.m_used |= a.bank == b.name ? 1 : 0;
    d.m_size = b.size_bytes / 1024;
    d.m_base_address = base;
    base += b.size_bytes;
    std::strncpy(reinterpret_cast<char*>(d.m_tag), b.tags.front().c_str(), sizeof(d.m_tag) - 1);
    banks.push_back(d);
  }
  return counted_section(banks);
}

std::vector<char> ip_layout_section(const Manifest& m) {
  std::vector<ip_data> ips;
  uint64_t base = kCuBase;
  for (const ManifestKernel& k : m.kernels)
    for (int i = 1; i <= k.instances; ++i, base += kCuRange) {
      ip_data d{};
      d.m_type = IP_KERNEL;
      const uint32_t irq = static_cast<uint32_t>(ips.size());
      d.properties = IP_INT_ENABLE_MASK | ((irq << IP_INTERRUPT_ID_SHIFT) & IP_INTERRUPT_ID_MASK) |
                     (AP_CTRL_HS << IP_CONTROL_SHIFT);
      d.m_base_address = base;
      const std::string name = k.name + ":" + k.name + "_" + std::to_string(i);
      if (name.size() >= sizeof(d.m_name))
        throw Error(ErrorKind::invalid_argument, "", "pack xclbin", "compute unit name too long: " + name);
      std::memcpy(d.m_name, name.c_str(), name.size() + 1);
      ips.push_back(d);
    }
  return counted_section(ips);
}

std::vector<char> connectivity_section(const Manifest& m) {
  std::vector<connection> links;
  int32_t ip = 0;
  for (const ManifestKernel& k : m.kernels)
    for (int i = 0; i < k.instances; ++i, ++ip)
      for (const ManifestArg& a : k.args)
        if (a.pointer()) {
          int32_t mem = 0;
          while (m.banks[mem].name != a.bank) ++mem;
          links.push_back({a.index, ip, mem});
        }
  std::vector<char> out;
  append(out, static_cast<int32_t>(links.size()));
  for (const connection& c : links) append(out, c);  // 4-byte entries: no padding after the count
  return out;
}

// FNV-1a over the content, spread into a version-4-shaped UUID.
void content_uuid(const std::vector<char>& content, unsigned char uuid[16]) {
  uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x84222325cbf29ce4ull;
  for (char c : content) {
    h1 = (h1 ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    h2 = (h2 ^ static_cast<unsigned char>(c)) * 0x100000001b3ull + 1;
  }
  std::memcpy(uuid, &h1, 8);
  std::memcpy(uuid + 8, &h2, 8);
  uuid[6] = static_cast<unsigned char>((uuid[6] & 0x0f) | 0x40);
  uuid[8] = static_cast<unsigned char>((uuid[8] & 0x3f) | 0x80);
}

}  // namespace

std::vector<char> pack_xclbin(const Manifest& m) {
  const std::string xml = metadata_xml(m);
  struct Section {
    axlf_section_kind kind;
    const char* name;
    std::vector<char> data;
  };
  std::vector<Section> sections = {{EMBEDDED_METADATA, "metadata", {xml.begin(), xml.end()}},
                                   {MEM_TOPOLOGY, "mem_topology", mem_topology_section(m)},
                                   {IP_LAYOUT, "ip_layout", ip_layout_section(m)},
                                   {CONNECTIVITY, "connectivity", connectivity_section(m)}};

  axlf top{};
  std::memcpy(top.m_magic, "xclbin2", 8);
  top.m_signature_length = -1;
  std::memset(top.reserved, 0xff, sizeof(top.reserved));
  std::memset(top.m_keyBlock, 0xff, sizeof(top.m_keyBlock));
  top.m_header.m_versionMajor = 2;
  top.m_header.m_versionMinor = 13;
  top.m_header.m_mode = XCLBIN_FLAT;
  std::strncpy(reinterpret_cast<char*>(top.m_header.m_platformVBNV), m.platform.c_str(),
               sizeof(top.m_header.m_platformVBNV) - 1);
  top.m_header.m_numSections = static_cast<uint32_t>(sections.size());

  // Layout: axlf (with the first section header inline), the other section headers, then each
  // section's data at an 8-byte boundary.
  std::vector<axlf_section_header> headers;
  uint64_t offset = sizeof(axlf) + (sections.size() - 1) * sizeof(axlf_section_header);
  std::vector<char> content;
  for (const Section& s : sections) {
    offset = (offset + 7) / 8 * 8;
    axlf_section_header h{};
    h.m_sectionKind = s.kind;
    std::strncpy(h.m_sectionName, s.name, sizeof(h.m_sectionName) - 1);
    h.m_sectionOffset = offset;
    h.m_sectionSize = s.data.size();
    headers.push_back(h);
    offset += s.data.size();
    for (char c : s.data) content.push_back(c);
  }
  top.m_header.m_length = offset;
  content_uuid(content, top.m_header.uuid);
  top.m_uniqueId = 0;
  top.m_sections[0] = headers[0];

  // One allocation, filled in place (GCC 12 misreports overflows on growing vector inserts).
  std::vector<char> out(offset, '\0');
  std::memcpy(out.data(), &top, sizeof(top));
  for (size_t i = 1; i < headers.size(); ++i)
    std::memcpy(out.data() + sizeof(axlf) + (i - 1) * sizeof(axlf_section_header), &headers[i], sizeof(headers[i]));
  for (size_t i = 0; i < sections.size(); ++i)
    if (!sections[i].data.empty())
      std::memcpy(out.data() + headers[i].m_sectionOffset, sections[i].data.data(), sections[i].data.size());
  return out;
}

void write_file(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(ErrorKind::io, "", "pack xclbin", "cannot write " + path);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw Error(ErrorKind::io, "", "pack xclbin", "write to " + path + " failed");
}

}  // namespace tandem::fpga
