// libFuzzer target for the C API's model loading, end to end, as an appliance runs it on an
// untrusted file: tandem_model_load_memory (the container, header and description, then the
// network built on the CPU and the weights loaded into it, each tensor's shape against the
// description, within the runtime's memory limit), then, when it loads, tandem_model_get_info,
// tandem_model_classify on a batch of zeros and tandem_model_destroy. Invariant: any bytes give
// a model that answers, or a status other than TANDEM_ERROR_INTERNAL (which would mean an
// exception other than tandem::Error escaped) with a message; nothing leaks.
//
// The memory limit is an appliance's defence against a description asking for huge layers (the
// weights must be in the file, activations need not be); 64 MiB keeps each run small. As in
// fuzz_model_file, half the inputs (the stored CRC's lowest bit set) get their CRC recomputed so
// the fuzzer gets past it. Seeds (corpus/capi/): tiny models exported and checkpointed (with
// topk:0.1 and error feedback), copies with the CRC's bit set, and a header nested too deep.
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tandem/tandem.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static tandem_runtime* runtime = [] {
    tandem_runtime_options o;
    tandem_runtime_options_init(&o);
    o.devices = "cpu:0";
    o.memory_limit_bytes = 64u << 20;
    o.log_level = TANDEM_LOG_OFF;
    tandem_runtime* rt = nullptr;
    if (tandem_runtime_create(&o, &rt) != TANDEM_OK) __builtin_trap();
    return rt;
  }();
  // TANDEM_FUZZ_VERBOSE=1 says what became of each input.
  static const bool verbose = std::getenv("TANDEM_FUZZ_VERBOSE") != nullptr;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (size >= 20 && (data[size - 1] & 1)) {  // the stored CRC's own last bit chooses
    const auto crc =
        static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(size - 4)));
    for (int i = 0; i < 4; ++i) bytes[size - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  }
  tandem_model* model = nullptr;
  const tandem_status s = tandem_model_load_memory(runtime, bytes.data(), bytes.size(), nullptr, &model);
  if (verbose) std::fprintf(stderr, "%s %s\n", tandem_status_name(s), tandem_last_error());
  if (s != TANDEM_OK) {
    if (s == TANDEM_ERROR_INTERNAL || model != nullptr || *tandem_last_error() == '\0') __builtin_trap();
    return 0;
  }
  tandem_model_info info;
  std::memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  if (tandem_model_get_info(model, &info) != TANDEM_OK) __builtin_trap();
  const size_t per = static_cast<size_t>(info.input_channels * info.input_height * info.input_width);
  const size_t batch = 2;
  std::vector<float> input(batch * per);
  std::vector<int32_t> classes(batch, -1);
  const tandem_status c = tandem_model_classify(model, input.data(), batch, input.size(), classes.data(), batch);
  if (c == TANDEM_OK) {
    for (int32_t k : classes)
      if (k < 0 || k >= info.classes) __builtin_trap();
  } else if (c == TANDEM_ERROR_INTERNAL) {
    __builtin_trap();
  }
  tandem_model_destroy(model);
  return 0;
}
