// The packer and the xclbin checks, with no device: packed xclbins parse with xrt::xclbin and
// say what their manifest says; validation accepts them and rejects each defect with a message
// naming the file, kernel and argument; damaged containers give an Error, never a crash.
#include <gtest/gtest.h>
#include <xclbin.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "manifest.h"
#include "tandem/error.h"
#include "xclbin_check.h"
#include "xclbin_pack.h"

namespace tandem::fpga {
namespace {

const std::string kDir = TANDEM_XCLBIN_DIR;
const std::string kManifests = std::string(TANDEM_SOURCE_DIR) + "/bitstreams/manifests/";

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

class Card : public ::testing::TestWithParam<const char*> {};

TEST_P(Card, PackedXclbinParsesAsItsManifestSays) {
  const Manifest m = load_manifest(kManifests + GetParam() + ".json");
  const ::xrt::xclbin x = read_xclbin(kDir + "/" + GetParam() + ".xclbin");
  EXPECT_EQ(x.get_xsa_name(), m.platform);
  EXPECT_EQ(x.get_kernels().size(), m.kernels.size());
  for (const ManifestKernel& k : m.kernels) {
    const auto xk = x.get_kernel(k.name);
    ASSERT_TRUE(xk) << k.name;
    EXPECT_EQ(xk.get_cus().size(), static_cast<size_t>(k.instances)) << k.name;
    EXPECT_EQ(xk.get_cus().front().get_name(), k.name + ":" + k.name + "_1");
    const auto args = xk.get_args();
    ASSERT_EQ(args.size(), k.args.size()) << k.name;
    for (const ManifestArg& a : k.args) {
      const auto& xa = args[static_cast<size_t>(a.index)];
      EXPECT_EQ(xa.get_name(), a.name);
      EXPECT_EQ(xa.get_host_type(), a.type);
      EXPECT_EQ(xa.get_size(), type_size(a.type));
      if (a.pointer()) {
        ASSERT_EQ(xa.get_mems().size(), 1u) << k.name << "." << a.name;
        EXPECT_EQ(xa.get_mems().front().get_tag(), m.bank(a.bank)->tags.front());
      } else {
        EXPECT_TRUE(xa.get_mems().empty()) << k.name << "." << a.name;
      }
    }
  }
  EXPECT_EQ(x.get_mems().size(), m.banks.size());
  EXPECT_NO_THROW(validate_xclbin(x, kDir + "/" + GetParam() + ".xclbin", m));
}

TEST_P(Card, PackingIsReproducible) {
  const Manifest m = load_manifest(kManifests + GetParam() + ".json");
  const std::vector<char> a = pack_xclbin(m), b = pack_xclbin(m);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, read_bytes(kDir + "/" + GetParam() + ".xclbin")) << "the build-time tool wrote other bytes";
  check_container(a, "packed");
}

INSTANTIATE_TEST_SUITE_P(Cards, Card, ::testing::Values("u250", "u55c"));

// Each defective xclbin packed at build time, and the error it must give (against u250.json).
struct Defect {
  const char* file;
  const char* message;
};
class Rejects : public ::testing::TestWithParam<Defect> {};

TEST_P(Rejects, WithAMessageNamingWhatDisagrees) {
  const Manifest m = load_manifest(kManifests + "u250.json");
  const std::string path = kDir + "/" + GetParam().file;
  const std::string what = error_of([&] { validate_xclbin(read_xclbin(path), path, m); });
  EXPECT_NE(what.find(GetParam().message), std::string::npos) << what;
}

INSTANTIATE_TEST_SUITE_P(
    Defects, Rejects,
    ::testing::Values(
        Defect{"bad_arg_name.xclbin",
               "kernel tandem_gemm argument 2 is 'c' of type float* in the manifest u250.json but 'out' in "
               "bad_arg_name.xclbin"},
        Defect{"bad_arg_type.xclbin",
               "kernel tandem_gemm argument 2 ('c') is of type float* in the manifest u250.json but int* in "
               "bad_arg_type.xclbin"},
        Defect{"bad_bank.xclbin",
               "kernel tandem_quantize argument 2 ('q') is wired to DDR[0] in the manifest u250.json but to DDR[1] "
               "in bad_bank.xclbin"},
        Defect{"missing_kernel.xclbin",
               "kernel tandem_compact is in the manifest u250.json but not in missing_kernel.xclbin (it has: "
               "tandem_gemm"},
        Defect{"truncated.xclbin", "truncated.xclbin: truncated: the header says"},
        Defect{"bad_magic.xclbin", "bad_magic.xclbin: not an xclbin"}),
    [](const auto& info) { return std::string(info.param.file).substr(0, std::string(info.param.file).find('.')); });

TEST(Xclbin, MissingFileOrDirectoryIsAnIoError) {
  for (const std::string& path : {std::string("/nonexistent/x.xclbin"), kDir}) {
    try {
      read_xclbin(path);
      FAIL() << path;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::io);
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

// Every prefix of a good container, also with its length field patched to match (so the check
// cannot stop at the length): each is an Error, and nothing reads past the end (ASan builds).
TEST(Xclbin, EveryTruncationIsAnErrorNotACrash) {
  const std::vector<char> good = pack_xclbin(load_manifest(kManifests + "u250.json"));
  for (size_t n = 0; n < good.size(); n += (n < 800 ? 1 : 37)) {
    std::vector<char> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(check_container(cut, "cut"), Error) << n;
    if (n >= sizeof(axlf)) {
      const uint64_t len = n;
      std::memcpy(cut.data() + offsetof(axlf, m_header) + offsetof(axlf_header, m_length), &len, sizeof(len));
      EXPECT_THROW(check_container(cut, "cut"), Error) << n;
    }
  }
}

TEST(Xclbin, CorruptCountsAndIndicesAreErrors) {
  const std::vector<char> good = pack_xclbin(load_manifest(kManifests + "u250.json"));
  axlf top;
  std::memcpy(&top, good.data(), sizeof(top));
  const auto section = [&](uint32_t kind) {
    for (uint32_t i = 0; i < top.m_header.m_numSections; ++i) {
      axlf_section_header h;
      std::memcpy(&h, good.data() + offsetof(axlf, m_sections) + i * sizeof(h), sizeof(h));
      if (h.m_sectionKind == kind) return h;
    }
    ADD_FAILURE() << "no section " << kind;
    return axlf_section_header{};
  };
  const auto patched = [&](size_t at, int32_t value) {
    std::vector<char> b = good;
    std::memcpy(b.data() + at, &value, sizeof(value));
    return b;
  };
  const size_t sections = offsetof(axlf, m_header) + offsetof(axlf_header, m_numSections);
  EXPECT_NE(error_of([&] { check_container(patched(sections, 100000), "f"); }).find("corrupt section table"),
            std::string::npos);
  const axlf_section_header ip = section(IP_LAYOUT), conn = section(CONNECTIVITY);
  EXPECT_NE(error_of([&] { check_container(patched(ip.m_sectionOffset, 1000), "f"); }).find("IP_LAYOUT says 1000"),
            std::string::npos);
  EXPECT_NE(error_of([&] { check_container(patched(ip.m_sectionOffset, -1), "f"); }).find("negative count"),
            std::string::npos);
  const size_t first_link = conn.m_sectionOffset + offsetof(connectivity, m_connection);
  EXPECT_NE(error_of([&] {
              check_container(patched(first_link + offsetof(connection, mem_data_index), 99), "f");
            }).find("names a compute unit or bank that does not exist"),
            std::string::npos);
  // An argument index XRT would size a vector by (2^30: 24 GiB), refused before XRT sees it.
  EXPECT_NE(error_of([&] {
              parse_xclbin(patched(first_link + offsetof(connection, arg_index), 1 << 30), "f");
            }).find("wires argument 1073741824 (a kernel has at most 1024)"),
            std::string::npos);
}

TEST(Xclbin, MetadataXrtCannotParseIsAnError) {
  std::vector<char> bytes = pack_xclbin(load_manifest(kManifests + "u250.json"));
  const std::string xml = "<?xml";
  auto at = std::search(bytes.begin(), bytes.end(), xml.begin(), xml.end());
  ASSERT_NE(at, bytes.end());
  std::fill(at, at + 40, '<');
  const std::string path = ::testing::TempDir() + "/garbled.xclbin";
  write_file(path, bytes);
  const std::string what = error_of([&] { read_xclbin(path); });
  EXPECT_NE(what.find("garbled.xclbin: XRT cannot parse it"), std::string::npos) << what;
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace tandem::fpga
