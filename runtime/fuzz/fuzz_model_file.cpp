// libFuzzer target for the model loader behind tandem_model_load / tandem_model_load_memory: the
// container (magic, version, lengths, CRC), the header JSON, the model description and every
// parameter's shape. Any input must give a ModelFile or an Error, nothing else. CRCs rarely
// match a mutated input, so half the inputs get their CRC recomputed: the fuzzer then reaches
// the header and description parsers behind the checksum. The stored CRC's lowest bit chooses
// (not the first byte: it is 'T', even, in every valid file, so no input that got past the
// magic was ever recomputed); seeds whose bit is clear have a copy with it set,
// corpus/*/*-crc-recomputed.tdm.
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "tandem/error.h"
#include "tandem/nn/model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (size >= 20 && (data[size - 1] & 1)) {  // the stored CRC's own last bit chooses
    const auto crc =
        static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(size - 4)));
    for (int i = 0; i < 4; ++i) bytes[size - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  }
  try {
    const tandem::nn::ModelFile f = tandem::nn::parse_model_file(bytes, "fuzz");
    size_t n = 0;
    for (const auto& p : f.params) n += p.bytes.size();
    if (n == 0 && !f.spec.params().empty()) __builtin_trap();  // parameters were promised
  } catch (const tandem::Error&) {
  }
  return 0;
}
