// tandem_xclbin_pack: writes a test xclbin (metadata only, no bitstream) from a manifest, and
// on request a deliberately broken one, for the driver's tests. Build-time tool; see README.md.
//
//   tandem_xclbin_pack --manifest m.json --out f.xclbin [defect]
//   defects: --rename-arg K:I:NAME  --retype-arg K:I:TYPE  --move-arg K:I:BANK
//            --drop-kernel K  --truncate BYTES  --corrupt-magic
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "manifest.h"
#include "tandem/error.h"
#include "xclbin_pack.h"

namespace {

using tandem::Error;
using tandem::ErrorKind;
using namespace tandem::fpga;

[[noreturn]] void usage(const std::string& why) {
  throw Error(ErrorKind::invalid_argument, "", "tandem_xclbin_pack",
              why +
                  "\nusage: tandem_xclbin_pack --manifest M.json --out F.xclbin [--rename-arg K:I:NAME | "
                  "--retype-arg K:I:TYPE | --move-arg K:I:BANK | --drop-kernel K | --truncate BYTES | "
                  "--corrupt-magic]");
}

// "kernel:index:value" → the argument and the value.
ManifestArg& arg_of(Manifest& m, const std::string& spec, std::string& value) {
  const auto c1 = spec.find(':'), c2 = spec.find(':', c1 == std::string::npos ? c1 : c1 + 1);
  if (c1 == std::string::npos || c2 == std::string::npos) usage("expected KERNEL:INDEX:VALUE, got " + spec);
  for (ManifestKernel& k : m.kernels)
    if (k.name == spec.substr(0, c1)) {
      const size_t i = std::stoul(spec.substr(c1 + 1, c2 - c1 - 1));
      if (i >= k.args.size()) usage("kernel " + k.name + " has no argument " + std::to_string(i));
      value = spec.substr(c2 + 1);
      return k.args[i];
    }
  usage("no kernel " + spec.substr(0, c1) + " in the manifest");
}

int run(int argc, char** argv) {
  std::string manifest_path, out;
  std::vector<std::pair<std::string, std::string>> defects;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--corrupt-magic") {
      defects.emplace_back(a, "");
      continue;
    }
    if (i + 1 >= argc) usage(a + " needs a value");
    if (a == "--manifest")
      manifest_path = argv[++i];
    else if (a == "--out")
      out = argv[++i];
    else if (a == "--rename-arg" || a == "--retype-arg" || a == "--move-arg" || a == "--drop-kernel" ||
             a == "--truncate")
      defects.emplace_back(a, argv[++i]);
    else
      usage("unknown option " + a);
  }
  if (manifest_path.empty() || out.empty()) usage("--manifest and --out are required");

  Manifest m = load_manifest(manifest_path);
  long truncate = -1;
  bool corrupt_magic = false;
  for (const auto& [what, spec] : defects) {
    std::string value;
    if (what == "--rename-arg") {
      ManifestArg& a = arg_of(m, spec, value);
      a.name = value;
    } else if (what == "--retype-arg") {
      ManifestArg& a = arg_of(m, spec, value);
      a.type = value;
    } else if (what == "--move-arg") {
      ManifestArg& a = arg_of(m, spec, value);
      if (!m.bank(value)) usage("no bank " + value + " in the manifest");
      a.bank = value;
    } else if (what == "--drop-kernel") {
      std::erase_if(m.kernels, [&name = spec](const ManifestKernel& k) { return k.name == name; });
    } else if (what == "--truncate") {
      truncate = std::stol(spec);
    } else {
      corrupt_magic = true;
    }
  }

  std::vector<char> bytes = pack_xclbin(m);
  if (corrupt_magic) std::memcpy(bytes.data(), "xclbinX", 7);
  if (truncate >= 0 && static_cast<size_t>(truncate) < bytes.size()) bytes.resize(static_cast<size_t>(truncate));
  write_file(out, bytes);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
