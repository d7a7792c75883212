// libFuzzer target for what the FPGA host path (fpga-xrt, hls/xrt/) reads from disk: bitstream
// manifests (parse_manifest) and xclbin files (parse_xclbin: the container checks, then XRT's
// own parser and its metadata XML), and the check of one against the other (validate_xclbin),
// with the XRT accessors the card then uses. No card or XRT device is involved.
//   input starting with '{': a manifest; when it parses, the two reference xclbins are
//   validated against it, and the xclbin the packer makes of it (if it can) must be accepted
//   against it.
//   anything else: an xclbin; when it parses, it is validated against the two reference
//   manifests, and its memory banks are read as XrtCard reads them.
// Invariant: any input gives a manifest or xclbin, checked or refused, or a tandem::Error.
// The references are corpus/manifest/tiny-ddr.json and tiny-hbm.json (two kernels each of the
// u250 and u55c manifests in bitstreams/manifests/, two banks), packed by pack_xclbin.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "manifest.h"
#include "tandem/error.h"
#include "xclbin_check.h"
#include "xclbin_pack.h"

namespace {

using namespace tandem;
using namespace tandem::fpga;

constexpr const char* kDdr = R"({"format":"tandem-xclbin-manifest","version":1,"card":"tiny",
"platform":"xilinx_u250_gen3x16_xdma_4_1_202210_1","kernel_clock_mhz":300,"memory":{"type":"DDR4",
"default_bank":"DDR[0]","banks":[{"name":"DDR[0]","tags":["DDR[0]","bank0"],"size_mib":16384},
{"name":"DDR[1]","tags":["DDR[1]","bank1"],"size_mib":16384}]},"kernels":[{"name":"tandem_gemm","instances":1,
"args":[{"index":0,"name":"a","type":"const float*","bank":"DDR[0]"},{"index":1,"name":"b","type":"const float*",
"bank":"DDR[1]"},{"index":2,"name":"c","type":"float*","bank":"DDR[0]"},{"index":3,"name":"m","type":"int"},
{"index":4,"name":"n","type":"int"},{"index":5,"name":"k","type":"int"},{"index":6,"name":"trans_a","type":"int"},
{"index":7,"name":"trans_b","type":"int"},{"index":8,"name":"alpha","type":"float"},{"index":9,"name":"beta",
"type":"float"}]},{"name":"tandem_quantize","instances":1,"args":[{"index":0,"name":"x","type":"const float*",
"bank":"DDR[0]"},{"index":1,"name":"unit","type":"float*","bank":"DDR[1]"},{"index":2,"name":"q",
"type":"int8_t*","bank":"DDR[0]"},{"index":3,"name":"n","type":"int"},{"index":4,"name":"chunk","type":"int"},
{"index":5,"name":"levels","type":"int"},{"index":6,"name":"norm2","type":"int"},{"index":7,"name":"stochastic",
"type":"int"},{"index":8,"name":"seed","type":"uint64_t"},{"index":9,"name":"step","type":"uint32_t"},
{"index":10,"name":"rank","type":"uint32_t"},{"index":11,"name":"offset","type":"uint64_t"}]}]})";

constexpr const char* kHbm = R"({"format":"tandem-xclbin-manifest","version":1,"card":"tiny-hbm",
"platform":"xilinx_u55c_gen3x16_xdma_3_202210_1","kernel_clock_mhz":300,"memory":{"type":"HBM",
"default_bank":"HBM[0]","banks":[{"name":"HBM[0]","tags":["HBM[0]"],"size_mib":512},{"name":"HBM[1]",
"tags":["HBM[1]"],"size_mib":512}]},"kernels":[{"name":"tandem_chunk_absmax","instances":2,"args":[{"index":0,"name":"x",
"type":"const float*","bank":"HBM[0]"},{"index":1,"name":"scales","type":"float*","bank":"HBM[1]"},{"index":2,
"name":"n","type":"int"},{"index":3,"name":"chunk","type":"int"}]},{"name":"tandem_sign_pack","instances":1,
"args":[{"index":0,"name":"x","type":"const float*","bank":"HBM[0]"},{"index":1,"name":"unit","type":"float*",
"bank":"HBM[1]"},{"index":2,"name":"bits","type":"uint8_t*","bank":"HBM[0]"},{"index":3,"name":"n","type":"int"},
{"index":4,"name":"chunk","type":"int"}]}]})";

struct Reference {
  Manifest manifest;
  ::xrt::xclbin xclbin;
  explicit Reference(const char* json)
      : manifest(parse_manifest(json, "reference.json")), xclbin(parse_xclbin(pack_xclbin(manifest), "reference")) {}
};

// What XrtCard does with a validated xclbin before it needs a card: every manifest kernel's
// compute units and argument banks, and the default bank among the xclbin's memories.
void use(const ::xrt::xclbin& x, const Manifest& m) {
  for (const ManifestKernel& k : m.kernels) {
    const ::xrt::xclbin::kernel xk = x.get_kernel(k.name);
    if (!xk || xk.get_args().size() != k.args.size()) __builtin_trap();  // validate_xclbin promised it
    for (const auto& a : xk.get_args())
      for (const auto& mem : a.get_mems()) (void)mem.get_tag();
  }
  for (const auto& mem : x.get_mems()) (void)mem.get_tag(), (void)mem.get_index();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Reference> refs = [] {
    std::vector<Reference> r;
    r.emplace_back(kDdr);
    r.emplace_back(kHbm);
    return r;
  }();
  try {
    if (size > 0 && data[0] == '{') {
      const Manifest m = parse_manifest(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json");
      for (const Reference& r : refs) try {
          validate_xclbin(r.xclbin, "reference.xclbin", m);
          use(r.xclbin, m);
        } catch (const Error&) {
        }
      // What the packer writes for a manifest, the driver reads and accepts against it. The
      // packer may refuse one (its compute units, "k:k_1", must fit the xclbin's 64-byte names).
      std::vector<char> packed;
      try {
        packed = pack_xclbin(m);
      } catch (const Error&) {
        return 0;
      }
      try {
        const ::xrt::xclbin own = parse_xclbin(packed, "packed.xclbin");
        validate_xclbin(own, "packed.xclbin", m);
        use(own, m);
      } catch (const Error&) {
        __builtin_trap();
      }
    } else {
      const ::xrt::xclbin x = parse_xclbin(std::vector<char>(data, data + size), "fuzz.xclbin");
      for (const Reference& r : refs) try {
          validate_xclbin(x, "fuzz.xclbin", r.manifest);
          use(x, r.manifest);
        } catch (const Error&) {
        }
    }
  } catch (const Error&) {
  }
  return 0;
}
