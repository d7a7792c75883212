// libFuzzer target for training checkpoints as `tandem train --resume` reads them: the container
// (parse_checkpoint: magic, version, lengths, CRC, header JSON, every tensor entry), then
// everything a resume takes from it (Trainer::resume): the model and hyper-parameters compared
// with the run's, the progress (epoch, step, step in epoch, loss sum, seconds, pruning steps,
// the ranks' shares), weights, optimizer velocities, pruning masks, error-feedback residuals and
// PowerSGD's Q. A checkpoint that is accepted is then trained from to the end of its run, so
// whatever it set is used. Invariant: any input gives a resumed run or a tandem::Error.
//
// CRCs rarely match a mutated input, so half the inputs (those whose stored CRC has its lowest
// bit set, as in fuzz_model_file) get their CRC recomputed: the fuzzer then reaches the header
// and the resume behind the checksum. The seeds (corpus/checkpoint/) are `tandem train --model
// runtime/fuzz/seed_model.json --epochs 2 --batch 32 --train-subset 64 --test-subset 16
// --checkpoint DIR` checkpoints, plain, mid-run, pruned, and with topk:0.1 or powersgd:2 and
// --error-feedback (the trainers below have those configurations, so that mutations of a seed
// get past the configuration check), copies with the CRC's lowest bit set, and deep-header.tdm,
// nested deeper than the parser allows (a 30000-deep one overflowed the stack).
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tandem/error.h"
#include "tandem/log.h"
#include "tandem/nn/checkpoint.h"
#include "tandem/nn/trainer.h"

namespace {

using namespace tandem;
using namespace tandem::nn;

// runtime/fuzz/seed_model.json: small enough for seeds of a few KiB.
constexpr const char* kModel = R"({"name": "seed", "input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "conv2d", "name": "conv1", "out_channels": 2, "kernel": 5, "stride": 4}, {"type": "relu"},
  {"type": "maxpool2d", "name": "pool1"}, {"type": "linear", "name": "fc1", "out": 10}]})";

Dataset synthetic(int64_t count) {
  Dataset d;
  d.count = count, d.rows = 28, d.cols = 28;
  for (int64_t i = 0; i < count * 28 * 28; ++i) d.images.push_back(static_cast<uint8_t>((i * 7 + i / 784) & 0xff));
  for (int64_t i = 0; i < count; ++i) d.labels.push_back(static_cast<int32_t>(i % 10));
  return d;
}

struct Trainers {
  Dataset train = synthetic(64), test = synthetic(16);
  std::string model_path;
  // The configurations of the seeds, by their config's "compress" and "prune".
  std::vector<std::pair<std::string, std::unique_ptr<Trainer>>> by_config;

  Trainers() {
    set_log_level(LogLevel::off);
    char path[] = "/tmp/tandem-fuzz-model-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0 || write(fd, kModel, std::char_traits<char>::length(kModel)) < 0) std::abort();
    close(fd);
    model_path = path;
    add([](TrainConfig&) {});
    add([](TrainConfig& c) {
      c.compress = compression::parse_codec("topk:0.1");
      c.error_feedback = true;
    });
    add([](TrainConfig& c) {
      c.compress = compression::parse_codec("powersgd:2");
      c.error_feedback = true;
    });
    add([](TrainConfig& c) {
      c.prune = parse_prune("magnitude:0.5");
      c.prune.start_epoch = 1;
    });
    std::remove(path);  // the trainers have read it
  }
  template <class F>
  void add(F configure) {
    TrainConfig c;  // the CLI's defaults, and the seeds' options
    c.model = model_path;
    c.epochs = 2;
    c.batch = 32;
    configure(c);
    by_config.emplace_back(compression::codec_string(c.compress) + " " + prune_name(c.prune),
                           std::make_unique<Trainer>(c, train, test));
  }
  // The trainer a run with this checkpoint's codec and pruning would be (the first otherwise:
  // its configuration check then refuses the checkpoint).
  Trainer& for_checkpoint(const CheckpointData& data) {
    const nlohmann::json h = nlohmann::json::parse(data.header_json, nullptr, false);
    std::string key;
    if (h.is_object() && h.contains("config") && h["config"].is_object()) {
      const nlohmann::json& c = h["config"];
      if (c.contains("compress") && c["compress"].is_string() && c.contains("prune") && c["prune"].is_string())
        key = c["compress"].get<std::string>() + " " + c["prune"].get<std::string>();
    }
    for (auto& [k, t] : by_config)
      if (k == key) return *t;
    return *by_config.front().second;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Trainers trainers;
  // TANDEM_FUZZ_VERBOSE=1 says what became of each input: seeds must get past the configuration check.
  static const bool verbose = std::getenv("TANDEM_FUZZ_VERBOSE") != nullptr;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (size >= 20 && (data[size - 1] & 1)) {  // the stored CRC's own last bit chooses
    const auto crc =
        static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(size - 4)));
    for (int i = 0; i < 4; ++i) bytes[size - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  }
  try {
    CheckpointData ck = parse_checkpoint(bytes, "fuzz");
    for (const NamedTensor& t : ck.tensors)  // what the parser promises every reader
      if (t.bytes.size() != static_cast<size_t>(t.shape.numel()) * dtype_size(t.dtype)) __builtin_trap();
    Trainer& trainer = trainers.for_checkpoint(ck);
    trainer.resume(std::move(ck), "fuzz");
    trainer.run();  // to the end of the run: every resumed field is used
    if (!trainer.finished()) __builtin_trap();
    if (verbose) std::fprintf(stderr, "resumed and finished\n");
  } catch (const Error& e) {
    if (verbose) std::fprintf(stderr, "%s\n", e.what());
  }
  return 0;
}
