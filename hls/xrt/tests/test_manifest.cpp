// Manifests: parsing and its errors, type spellings, and the checked-in card manifests against
// the cores' declarations in hls/cores/cores.h (the kernels a bitstream holds).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "manifest.h"
#include "tandem/error.h"

namespace tandem::fpga {
namespace {

const std::string kSource = TANDEM_SOURCE_DIR;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Decl {
  std::string name;
  std::vector<std::pair<std::string, std::string>> args;  // type, name
};

// The `void tandem_*(...);` declarations of cores.h, comments removed.
std::vector<Decl> cores_h() {
  std::string text = std::regex_replace(read_text(kSource + "/hls/cores/cores.h"), std::regex("//[^\n]*"), "");
  std::vector<Decl> out;
  const std::regex fn(R"(void\s+(tandem_\w+)\s*\(([^)]*)\)\s*;)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), fn); it != std::sregex_iterator(); ++it) {
    Decl d{(*it)[1], {}};
    std::stringstream params((*it)[2].str());
    for (std::string p; std::getline(params, p, ',');) {
      std::smatch m;
      const std::string flat = std::regex_replace(p, std::regex(R"(\s+)"), " ");
      EXPECT_TRUE(std::regex_match(flat, m, std::regex(R"(\s*(.*?)\s*(\w+)\s*)"))) << p;
      d.args.emplace_back(std::regex_replace(m[1].str(), std::regex(R"(\s*\*)"), "*"), m[2]);
    }
    out.push_back(std::move(d));
  }
  return out;
}

class CardManifest : public ::testing::TestWithParam<const char*> {};

TEST_P(CardManifest, MatchesCoresH) {
  const Manifest m = load_manifest(kSource + "/bitstreams/manifests/" + GetParam() + ".json");
  const std::vector<Decl> decls = cores_h();
  ASSERT_GE(decls.size(), 7u) << "cores.h parsed to too few declarations";
  EXPECT_EQ(m.kernels.size(), decls.size()) << "the manifest and cores.h list different kernels";
  for (const Decl& d : decls) {
    const ManifestKernel* k = m.kernel(d.name);
    ASSERT_NE(k, nullptr) << d.name << " is in cores.h but not in " << m.file_name()
                          << " (run bitstreams/tools/gen_manifest.py)";
    ASSERT_EQ(k->args.size(), d.args.size()) << d.name;
    for (size_t i = 0; i < d.args.size(); ++i) {
      EXPECT_EQ(k->args[i].name, d.args[i].second) << d.name << " argument " << i;
      EXPECT_EQ(k->args[i].type, d.args[i].first) << d.name << " argument " << i;
    }
  }
}

TEST_P(CardManifest, PointersSitInKnownBanksAndTheDefaultBankIsUsed) {
  const Manifest m = load_manifest(kSource + "/bitstreams/manifests/" + GetParam() + ".json");
  bool default_used = false;
  for (const ManifestKernel& k : m.kernels)
    for (const ManifestArg& a : k.args) {
      EXPECT_EQ(a.pointer(), !a.bank.empty()) << k.name << "." << a.name;
      default_used |= a.bank == m.default_bank;
    }
  EXPECT_TRUE(default_used) << "an xclbin marks a bank used only when an argument is wired to it";
}

INSTANTIATE_TEST_SUITE_P(Cards, CardManifest, ::testing::Values("u250", "u55c"));

nlohmann::json small_manifest() {
  return nlohmann::json::parse(R"({
    "format": "tandem-xclbin-manifest", "version": 1, "card": "test", "platform": "p", "kernel_clock_mhz": 300,
    "memory": {"type": "DDR4", "default_bank": "DDR[0]",
               "banks": [{"name": "DDR[0]", "tags": ["DDR[0]"], "size_mib": 16}]},
    "kernels": [{"name": "k", "instances": 1, "args": [
      {"index": 0, "name": "x", "type": "const float*", "bank": "DDR[0]"},
      {"index": 1, "name": "n", "type": "int"}]}]})");
}

std::string error_of(const nlohmann::json& j) {
  try {
    parse_manifest(j.dump(), "m.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Manifest, ParsesAValidOne) {
  const Manifest m = parse_manifest(small_manifest().dump(), "dir/m.json");
  EXPECT_EQ(m.file_name(), "m.json");
  ASSERT_NE(m.kernel("k"), nullptr);
  EXPECT_TRUE(m.kernel("k")->args[0].pointer());
  EXPECT_FALSE(m.kernel("k")->args[1].pointer());
  EXPECT_EQ(m.bank("DDR[0]")->size_bytes, 16u << 20);
}

TEST(Manifest, RejectsMistakesNamingFileAndField) {
  nlohmann::json j = small_manifest();
  j["kernels"][0]["args"][1]["index"] = 3;
  EXPECT_NE(error_of(j).find("m.json: kernel k argument 1 ('n') has index 3"), std::string::npos) << error_of(j);
  j = small_manifest();
  j["kernels"][0]["args"][0]["bank"] = "DDR[7]";
  EXPECT_NE(error_of(j).find("wired to DDR[7], which is not among the banks"), std::string::npos) << error_of(j);
  j = small_manifest();
  j["kernels"][0]["args"][0].erase("bank");
  EXPECT_NE(error_of(j).find("kernel k argument 0 ('x') has no \"bank\""), std::string::npos) << error_of(j);
  j = small_manifest();
  j["version"] = 2;
  EXPECT_NE(error_of(j).find("version 2"), std::string::npos) << error_of(j);
  j = small_manifest();
  j["kernels"][0]["args"][1]["type"] = "struct s";
  EXPECT_NE(error_of(j).find("'struct s' is not supported"), std::string::npos) << error_of(j);
  EXPECT_NE(error_of(nlohmann::json::array()).find("not a JSON object"), std::string::npos);
  // Found by fuzz_manifest: a "format" that is not a string threw the JSON library's type_error.
  j = small_manifest();
  j["format"] = 5555555555555;
  EXPECT_NE(error_of(j).find("m.json: \"format\" is not \"tandem-xclbin-manifest\""), std::string::npos) << error_of(j);
  // Found by fuzz_manifest: a number too large for a double threw the JSON library's out_of_range.
  try {
    parse_manifest("{\"format\": 5e5555}", "m.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.json: not valid JSON"), std::string::npos) << e.what();
  }
  // Compute units beyond what an xclbin holds were accepted: with 3,000,000 instances, packing and
  // reading back its xclbin took over 2 GB (an input to fuzz_manifest, after its RSS jumped).
  j = small_manifest();
  j["kernels"][0]["instances"] = 2000000000;
  EXPECT_NE(error_of(j).find("2000000000 compute units in all; an xclbin holds at most 128"), std::string::npos)
      << error_of(j);
  // Found by fuzz_manifest: a kernel named "k)" was accepted, and XRT could not parse the
  // xclbin the packer made for it (it builds regular expressions from kernel names).
  j = small_manifest();
  j["kernels"][0]["name"] = "k)";
  EXPECT_NE(error_of(j).find("kernel name 'k)' is not a C identifier"), std::string::npos) << error_of(j);
  j = small_manifest();
  j["kernels"][0]["args"][1]["name"] = "2n";
  EXPECT_NE(error_of(j).find("kernel k argument 1 name '2n' is not a C identifier"), std::string::npos) << error_of(j);
  // A float out of int's range was cast to int, undefined (UBSan, on an input to fuzz_manifest).
  j = small_manifest();
  j["kernels"][0]["instances"] = 1e100;
  EXPECT_NE(error_of(j).find("kernel k \"instances\" has the wrong type (1e+100)"), std::string::npos) << error_of(j);
  j = small_manifest();
  j["version"] = 4294967297;
  EXPECT_NE(error_of(j).find("\"version\" is out of range (4294967297)"), std::string::npos) << error_of(j);
  j = small_manifest();
  j["memory"]["banks"][0]["size_mib"] = uint64_t{1} << 50;
  EXPECT_NE(error_of(j).find("bank DDR[0] is larger than 2^64 bytes"), std::string::npos) << error_of(j);
  // Nested 30000 deep (60 KB), it overflowed the stack: copying and writing JSON recurse.
  j = small_manifest();
  j["kernel_clock_mhz"] = nlohmann::json::array();
  std::string deep = j.dump();
  deep.replace(deep.find("[]"), 2, std::string(30000, '[') + std::string(30000, ']'));
  try {
    parse_manifest(deep, "m.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.json: nests deeper than 64 levels"), std::string::npos) << e.what();
  }
  try {
    parse_manifest("{ not json", "m.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.json: not valid JSON"), std::string::npos) << e.what();
  }
  try {
    load_manifest("/nonexistent/m.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
  }
}

TEST(Manifest, CanonicalTypesMatchVitisSpellings) {
  EXPECT_EQ(canonical_type("const float*"), canonical_type("float *"));
  EXPECT_EQ(canonical_type("int32_t*"), canonical_type("int*"));
  EXPECT_EQ(canonical_type("uint64_t"), canonical_type("unsigned long"));
  EXPECT_EQ(canonical_type("int64_t"), canonical_type("long long"));
  EXPECT_EQ(canonical_type("int8_t*"), canonical_type("char*"));
  EXPECT_NE(canonical_type("float*"), canonical_type("int*"));
  EXPECT_NE(canonical_type("uint32_t"), canonical_type("int"));
  EXPECT_EQ(type_size("uint64_t"), 8u);
  EXPECT_EQ(type_size("float"), 4u);
  EXPECT_EQ(type_size("const int8_t*"), 8u);
}

}  // namespace
}  // namespace tandem::fpga
