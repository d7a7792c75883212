// IDX files and model descriptions: good inputs load, every bad one is a clear error.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "../ops/harness.h"
#include "fixtures.h"
#include "tandem/error.h"
#include "tandem/nn/checkpoint.h"
#include "tandem/nn/data.h"
#include "tandem/nn/model.h"
#include "tandem/nn/model_file.h"
#include "tandem/nn/network.h"

namespace tandem::nn {
namespace {

class Idx : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("tandem-idx-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  // An IDX file of unsigned bytes with the given dims; `extra` bytes appended or (negative) cut.
  std::string write(const std::string& name, std::vector<uint32_t> dims, int extra = 0, bool gz = false,
                    uint8_t type = 0x08, uint8_t fill = 1) {
    std::string s{0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
    size_t n = 1;
    for (uint32_t d : dims) {
      for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((d >> (8 * i)) & 0xff));
      n *= d;
    }
    s.append(n, static_cast<char>(fill));
    if (extra > 0) s.append(static_cast<size_t>(extra), 'x');
    if (extra < 0) s.resize(s.size() - static_cast<size_t>(-extra));
    const std::string path = (dir / name).string();
    if (gz) {
      gzFile f = gzopen(path.c_str(), "wb");
      gzwrite(f, s.data(), static_cast<unsigned>(s.size()));
      gzclose(f);
    } else {
      std::ofstream(path, std::ios::binary) << s;
    }
    return path;
  }

  // The error names the file as well as what is wrong with it.
  void expect_error(const std::string& path, const std::string& fragment) {
    test::expect_error([&] { read_idx(path); }, {fragment, path});
  }

  std::filesystem::path dir;
};

TEST_F(Idx, ReadsPlainAndGzip) {
  for (bool gz : {false, true}) {
    const IdxArray a = read_idx(write(gz ? "a.gz" : "a", {3, 2, 5}, 0, gz));
    EXPECT_EQ(a.dims, (std::vector<int64_t>{3, 2, 5}));
    EXPECT_EQ(a.data.size(), 30u);
  }
}

TEST_F(Idx, RejectsMalformedFiles) {
  expect_error(write("trunc", {4, 4}, -3), "(truncated)");
  expect_error(write("trail", {4, 4}, 2), "(trailing bytes)");
  expect_error(write("type", {4}, 0, false, 0x0D), "element type");
  expect_error(write("zero", {0, 4}), "dimension 0 is 0");
  std::ofstream((dir / "short").string()) << "ab";
  expect_error((dir / "short").string(), "too short");
  std::ofstream((dir / "magic").string()) << "PK\x03\x04rest";
  expect_error((dir / "magic").string(), "bad magic");
  expect_error((dir / "missing").string(), "cannot open");
  // A gzip stream cut in the middle.
  const std::string gz = write("cut.gz", {100, 100}, 0, true);
  std::filesystem::resize_file(gz, std::filesystem::file_size(gz) / 2);
  expect_error(gz, "compressed data");
}

TEST_F(Idx, DatasetsCheckCountsAndLabels) {
  write("train-images-idx3-ubyte", {5, 2, 2});
  write("train-labels-idx1-ubyte", {5}, 0, false, 0x08, 3);
  const Dataset d = load_mnist(dir.string(), "train");
  EXPECT_EQ(d.count, 5);
  EXPECT_EQ(d.labels[4], 3);
  write("train-labels-idx1-ubyte", {4});
  EXPECT_THROW(load_mnist(dir.string(), "train"), Error);  // 4 labels for 5 images
  write("train-labels-idx1-ubyte", {5}, 0, false, 0x08, 12);
  test::expect_error([&] { load_mnist(dir.string(), "train"); }, {"label 12 of sample 0 is not below 10"});
  EXPECT_THROW(load_mnist(dir.string(), "t10k"), Error);  // files absent
}

TEST(Model, BuiltinsAndShapes) {
  const ModelSpec cnn = load_model("cnn");
  const auto shapes = cnn.shapes();
  EXPECT_EQ(shapes[2], (Shape{16, 14, 14}));
  EXPECT_EQ(shapes[5], (Shape{32, 7, 7}));
  EXPECT_EQ(shapes.back(), (Shape{10}));
  EXPECT_EQ(load_model("mlp").layers.size(), 5u);
  EXPECT_EQ(parse_model(cnn.to_json()).to_json(), cnn.to_json());  // round trip
}

TEST(Model, BadDescriptions) {
  auto expect = [](const std::string& json, const std::string& fragment) {
    test::expect_error([&] { parse_model(json, "test.json"); }, {fragment});
  };
  const std::string in = R"("input": [1, 8, 8], "classes": 3, )";
  expect("{not json", "not valid JSON");
  // Found by fuzz_model_json: a name that is not a string escaped as a JSON library exception.
  expect(R"({"name": [1, 2], )" + in + R"("layers": [{"type": "linear", "out": 3}]})", "\"name\" must be a string");
  expect("{" + in + R"("layers": [{"type": "dense", "out": 3}]})", "unknown type \"dense\"");
  expect("{" + in + R"("layers": [{"type": "linear"}]})", "missing \"out\"");
  expect("{" + in + R"("layers": [{"type": "linear", "out": 0}]})", "outside [1");
  expect("{" + in + R"("layers": [{"type": "linear", "out": 4}]})", "not 3 class scores");
  expect("{" + in + R"("layers": [{"type": "conv2d", "out_channels": 2, "kernel": 9}, {"type": "linear", "out": 3}]})",
         "kernel larger");
  expect("{" + in + R"("layers": [{"type": "relu", "name": "a"}, {"type": "linear", "out": 3, "name": "a"}]})",
         "used twice");
  expect(R"({"input": [1, 8], "layers": [{"type": "relu"}]})", "\"input\"");
  EXPECT_THROW(load_model("/no/such/model.json"), Error);
}

// A residual block written as a graph: nodes may be listed in any order and are sorted.
const char* const residual_json = R"({"format": "tandem-graph", "version": 2, "name": "res", "input": [1, 8, 8],
  "classes": 3, "nodes": [
  {"name": "sum", "op": "add", "inputs": ["r1", "c2"]},
  {"name": "c1", "op": "conv2d", "inputs": ["input"], "out_channels": 4, "kernel": 3, "pad": 1},
  {"name": "r1", "op": "relu", "inputs": ["c1"]},
  {"name": "c2", "op": "conv2d", "inputs": ["r1"], "out_channels": 4, "kernel": 3, "pad": 1, "bias": false},
  {"name": "r2", "op": "relu", "inputs": ["sum"]},
  {"name": "fc", "op": "linear", "inputs": ["r2"], "out": 3}]})";

TEST(Model, GraphDescriptionsSortBranchesAndRoundTrip) {
  const ModelSpec m = parse_model(residual_json, "res.json");
  std::vector<std::string> order;
  for (const LayerSpec& l : m.layers) order.push_back(l.name);
  EXPECT_EQ(order, (std::vector<std::string>{"c1", "r1", "c2", "sum", "r2", "fc"}));
  EXPECT_EQ(m.sources()[3], (std::vector<int>{1, 2}));  // sum reads r1 and c2
  EXPECT_EQ(m.params().size(), 5u);                     // c1 weight+bias, c2 weight, fc weight+bias
  EXPECT_EQ(parse_model(m.to_json()).to_json(), m.to_json());
  // A version-1 chain becomes the same graph as its version-2 form.
  const ModelSpec cnn = load_model("cnn");
  EXPECT_EQ(cnn.layers[1].inputs, (std::vector<std::string>{"conv1"}));
}

int64_t count(const std::vector<ParamSpec>& ps) {
  int64_t n = 0;
  for (const ParamSpec& p : ps) n += p.shape.numel();
  return n;
}

// The residual and depthwise-separable built-ins, counted by hand from their definitions.
TEST(Model, ResNet20AndMobileNetHaveTheirParameterCounts) {
  const ModelSpec r = load_model("resnet20");
  EXPECT_EQ(count(r.params()), 272186);
  EXPECT_EQ(r.buffers().size(), 2u * 21);  // running mean and variance of 1 + 18 + 2 batch norms
  EXPECT_EQ(r.shapes().back(), (Shape{10}));
  const ModelSpec m = load_model("mobilenet");
  EXPECT_EQ(count(m.params()), 136202);
  for (const ModelSpec& s : {r, m}) EXPECT_EQ(parse_model(s.to_json()).to_json(), s.to_json());
  // Stage 3 of the ResNet runs at 7x7, with a projection shortcut into its first block.
  const auto shapes = r.shapes();
  for (size_t i = 0; i < r.layers.size(); ++i)
    if (r.layers[i].name == "layer3.0.shortcut") {
      EXPECT_EQ(shapes[i], (Shape{64, 7, 7}));
    }
}

// The Vision Transformer, counted by hand: the patch convolution 16·64 + 64, class token 64,
// positions 50·64, per block (×6) two layer norms 4·64, attention 3·64·64 + 3·64 + 64·64 + 64,
// MLP 64·128 + 128 + 128·64 + 64; the final norm 128 and the head 64·10 + 10.
TEST(Model, VitHasItsParameterCountAndShapes) {
  const ModelSpec v = load_model("vit");
  const int64_t block = 4 * 64 + (3 * 64 * 64 + 3 * 64 + 64 * 64 + 64) + (64 * 128 + 128 + 128 * 64 + 64);
  EXPECT_EQ(count(v.params()), (16 * 64 + 64) + 64 + 50 * 64 + 6 * block + 128 + (64 * 10 + 10));
  EXPECT_EQ(count(v.params()), 205962);
  const auto shapes = v.shapes();
  std::map<std::string, Shape> by_name;
  for (size_t i = 0; i < v.layers.size(); ++i) by_name[v.layers[i].name] = shapes[i];
  EXPECT_EQ(by_name["tokens"], (Shape{49, 64}));
  EXPECT_EQ(by_name["pos"], (Shape{50, 64}));
  EXPECT_EQ(by_name["block5.linear1"], (Shape{50, 128}));
  EXPECT_EQ(by_name["cls_out"], (Shape{1, 64}));
  EXPECT_EQ(parse_model(v.to_json()).to_json(), v.to_json());
  // The attention and MLP projections are what pruning sees.
  int prunable = 0;
  for (const ParamSpec& p : v.params()) prunable += p.prunable;
  EXPECT_EQ(prunable, 1 + 6 * 4 + 1);  // patch, per block qkv/out/linear1/linear2, head
}

// BERT-mini, counted by hand: embeddings V·256 + 128·256; per block (×4) two layer norms 4·256,
// attention 3·256² + 3·256 + 256² + 256, MLP 256·1024 + 1024 + 1024·256 + 256; the final norm
// 512; the prediction head's transform 256² + 256, its norm 512 and the decoder 256·V + V.
TEST(Model, EncoderDefaultIsBertMini) {
  const ModelSpec m = load_model("encoder");
  const int64_t v = 30522, d = 256;
  const int64_t block = 4 * d + (3 * d * d + 3 * d + d * d + d) + (d * 1024 + 1024 + 1024 * d + d);
  EXPECT_EQ(count(m.params()), v * d + 128 * d + 4 * block + 2 * d + (d * d + d) + 2 * d + (d * v + v));
  EXPECT_EQ(m.input, (Shape{128}));
  EXPECT_TRUE(m.token_input());
  EXPECT_TRUE(m.per_token_output());
  EXPECT_EQ(m.shapes().back(), (Shape{128, v}));
  EXPECT_EQ(parse_model(m.to_json()).to_json(), m.to_json());
  int prunable = 0;
  for (const ParamSpec& p : m.params()) prunable += p.prunable;
  EXPECT_EQ(prunable, 4 * 4 + 2);  // per block qkv/out/linear1/linear2; the head's transform and decoder
  const ModelSpec small = load_model("encoder:vocab=100,seq=32,width=64,layers=2,heads=4,mlp=128");
  EXPECT_EQ(small.shapes().back(), (Shape{32, 100}));
}

// Transformer nodes that do not fit are refused by name.
TEST(Model, BadTransformerNodesNameTheNode) {
  auto expect_bad = [](const std::string& nodes, const std::string& fragment) {
    const std::string json = R"({"format": "tandem-graph", "version": 2, "input": [1, 8, 8], "classes": 10, "nodes": [)" + nodes + "]}";
    test::expect_error([&] { parse_model(json, "t.json"); }, ErrorKind::invalid_argument, {"t.json", fragment});
  };
  const std::string seq = R"({"name": "p", "op": "conv2d", "out_channels": 6, "kernel": 4, "stride": 4}, {"name": "tok", "op": "tokens"}, )";
  expect_bad(seq + R"({"name": "att", "op": "attention", "heads": 4}, {"name": "fc", "op": "linear", "out": 10})",
             "node att: 4 heads do not divide the width 6");
  expect_bad(R"({"name": "att", "op": "attention", "heads": 2}, {"name": "fc", "op": "linear", "out": 10})",
             "attention takes a sequence [tokens, width], given [1,8,8]");
  expect_bad(seq + R"({"name": "s", "op": "slice", "axis": 0, "start": 3, "length": 2}, {"name": "fc", "op": "linear", "out": 10})",
             "positions [3, 5) are outside axis 1 of 4");
  expect_bad(seq + R"({"name": "g", "op": "gelu", "approximate": "fast"}, {"name": "fc", "op": "linear", "out": 10})",
             "\"approximate\" = \"fast\" is not");
  expect_bad(R"({"name": "tok", "op": "tokens"}, {"name": "tok2", "op": "tokens"}, {"name": "fc", "op": "linear", "out": 10})",
             "node tok2: tokens takes a [C, H, W] feature map, given [64,1]");
}

TEST(Model, BadGraphsNameTheNode) {
  auto expect = [](const std::string& nodes, const std::string& fragment) {
    test::expect_error(
        [&] { parse_model(R"({"version": 2, "input": [1, 8, 8], "classes": 3, "nodes": [)" + nodes + "]}", "g.json"); },
        {"g.json", fragment});
  };
  const std::string fc = R"({"name": "fc", "op": "linear", "out": 3, "inputs": ["b"]})";
  expect(R"({"name": "a", "op": "relu", "inputs": ["b"]}, {"name": "b", "op": "relu", "inputs": ["a"]}, )" + fc,
         "node a is on a cycle");
  expect(R"({"name": "a", "op": "relu", "inputs": ["nowhere"]}, {"name": "b", "op": "relu", "inputs": ["a"]}, )" + fc,
         "node a: input \"nowhere\" is no node's name");
  expect(R"({"name": "a", "op": "relu", "inputs": ["input"]}, {"name": "b", "op": "relu", "inputs": ["input"]}, )" + fc,
         "node a: no node reads its output");
  expect(R"({"name": "b", "op": "add", "inputs": ["input"]}, )" + fc, "add takes 2 inputs");
  expect(R"({"name": "b", "op": "add"}, )" + fc, "needs \"inputs\"");
  expect(R"({"name": "a", "op": "conv2d", "out_channels": 2, "kernel": 3, "inputs": ["input"]},
            {"name": "b", "op": "add", "inputs": ["a", "input"]}, )" +
             fc,
         "node b (broadcast_binary): shapes [1,2,6,6] and [1,1,8,8] do not broadcast");
  expect(R"({"name": "b", "op": "relu", "inputs": ["b"]}, )" + fc, "node b reads itself");
  test::expect_error([] { parse_model(R"({"input": [1, 8, 8], "nodes": [{"op": "relu"}]})", "g.json"); },
                     {"needs \"version\": 2"});
}

// Model files: a good one parses with its normalization; each bad part is named.
TEST(ModelFile, ParsesAndNamesWhatIsWrong) {
  const ModelSpec spec = load_model("mlp");
  auto file = [&](const std::string& header, const std::function<void(CheckpointData&)>& edit = {}) {
    CheckpointData d;
    d.header_json = header;
    for (const ParamSpec& p : spec.params())
      d.tensors.push_back(
          {"param:" + p.name, DType::f32, p.shape, std::vector<uint8_t>(static_cast<size_t>(p.shape.numel()) * 4, 0)});
    if (edit) edit(d);
    const std::string path = (std::filesystem::temp_directory_path() / "tandem-model-file.tdm").string();
    write_checkpoint(path, d);
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  const std::string model = "\"model\": " + spec.to_json();
  const ModelFile ok = parse_model_file(
      file("{\"kind\": \"model\", " + model + ", \"normalize\": {\"mean\": 0.25, \"scale\": 2}}"), "m");
  EXPECT_EQ(ok.spec.name, "mlp");
  EXPECT_EQ(ok.params.size(), spec.params().size());
  EXPECT_EQ(ok.params[0].name, "fc1.weight");
  EXPECT_FLOAT_EQ(ok.norm.mean, 0.25f);
  EXPECT_FLOAT_EQ(ok.norm.scale, 2.0f);
  EXPECT_DOUBLE_EQ(ok.sparsity, 1.0);  // all zeros
  const ModelFile ck = parse_model_file(file("{\"kind\": \"checkpoint\", \"config\": {" + model + "}}"), "c");
  EXPECT_EQ(ck.norm.scale, 1.0f);  // none given: identity
  test::expect_error([&] { parse_model_file(file("{\"kind\": \"profile\"}"), "p"); }, ErrorKind::io,
                     {"model file p", "holds no model", "profile"});
  test::expect_error(
      [&] {
        parse_model_file(file("{\"kind\": \"model\", " + model + "}",
                              [](CheckpointData& d) { d.tensors.erase(d.tensors.begin() + 1); }),
                         "m");
      },
      ErrorKind::io, {"lacks the weights of fc1.bias"});
  test::expect_error(
      [&] {
        parse_model_file(file("{\"kind\": \"model\", " + model + "}",
                              [](CheckpointData& d) {
                                d.tensors[0].shape = Shape{1, 4};
                                d.tensors[0].bytes.resize(16);
                              }),
                         "m");
      },
      ErrorKind::io, {"fc1.weight is f32[1,4], the model needs f32[256,784]"});
  test::expect_error(
      [&] {
        parse_model_file(file("{\"kind\": \"model\", " + model + ", \"normalize\": {\"mean\": 0, \"scale\": 0}}"), "m");
      },
      ErrorKind::io, {"normalization", "not usable"});
  test::expect_error([&] { parse_model_file("TNDMCKPT", "short"); }, ErrorKind::io, {"short", "too short"});
  // A header nested 30000 deep (60 KB) overflowed the stack when the parser wrote it back
  // (found with crafted inputs to the fuzz targets: checkpoints, model files, the C API). The
  // container is made by hand: write_checkpoint would overflow on it too.
  const auto container = [](const std::string& header) {
    std::string s = "TNDMCKPT";
    for (uint32_t v : {checkpoint_version, static_cast<uint32_t>(header.size())})
      for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    s += header;
    const auto crc =
        static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
    return s;
  };
  const std::string deep = std::string(30000, '[') + std::string(30000, ']');
  test::expect_error([&] { parse_model_file(container("{\"tensors\": [], \"x\": " + deep + "}"), "deep"); },
                     ErrorKind::io, {"checkpoint deep", "header nests deeper than 64 levels"});
  const std::string levels63 = std::string(63, '[') + std::string(63, ']');  // 64 with the header's own
  EXPECT_NO_THROW(parse_checkpoint(container("{\"tensors\": [], \"x\": " + levels63 + "}"), "64 levels"));
  // A float where a tensor entry has an integer was cast by the JSON library: undefined behaviour
  // out of range (found by CI's fuzz_checkpoint run). Each is now refused by name.
  const auto entry = [&](const std::string& shape, const std::string& offset) {
    return container("{\"tensors\": [{\"name\": \"w\", \"dtype\": \"f32\", \"shape\": " + shape +
                     ", \"offset\": " + offset + ", \"bytes\": 4}]}");
  };
  test::expect_error([&] { parse_checkpoint(entry("[1e300]", "0"), "c"); }, ErrorKind::io,
                     {"checkpoint c", "tensor w: shape [1e+300] is not a list of sizes"});
  test::expect_error([&] { parse_checkpoint(entry("[-1]", "0"), "c"); }, ErrorKind::io, {"shape [-1] is not"});
  test::expect_error([&] { parse_checkpoint(entry("7", "0"), "c"); }, ErrorKind::io, {"its shape is not a list"});
  test::expect_error([&] { parse_checkpoint(entry("[1]", "-1e300"), "c"); }, ErrorKind::io,
                     {"tensor w: its offset and bytes must be integers"});
  // (The entry's 4 bytes are not in this container: an accepted entry would fail on its data.)
  test::expect_error([&] { parse_checkpoint(entry("[1]", "0"), "c"); }, ErrorKind::io, {"run past the end"});
}

// An inference network: forward ops only, no gradients, no backward pass; its parameters are the
// spec's.
TEST(ModelFile, InferenceNetworksHoldNoGradients) {
  const ModelSpec spec = load_model("cnn");
  Network net(spec, {cpu_device()}, Purpose::inference);
  const std::vector<ParamSpec> want = spec.params();
  ASSERT_EQ(net.params().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(net.params()[i]->name, want[i].name);
    EXPECT_TRUE(net.params()[i]->value.shape() == want[i].shape);
    EXPECT_FALSE(net.params()[i]->grad);
  }
  const Tensor x = Tensor::zeros(cpu_device(), {2, 1, 28, 28});
  EXPECT_TRUE(net.forward(x).shape() == (Shape{2, 10}));
  const Tensor labels = Tensor::zeros(cpu_device(), {2}, DType::i32);
  test::expect_error([&] { net.backward(labels); }, ErrorKind::unsupported, {"built for inference"});
  const ModelSpec cnn = load_model("cnn");
  EXPECT_LT(layer_kernels(cnn, 0, Purpose::inference).size(), layer_kernels(cnn, 0).size());
}

// An exported model with batch norm folded: each normalization whose convolution feeds it alone
// is gone, its convolution scaled and given a bias; one whose convolution is also read elsewhere
// stays. The loaded file's logits equal the unfolded network's to rounding.
TEST(ModelFile, ExportFoldsBatchNormIntoTheConvolutions) {
  const ModelSpec spec = parse_model(R"({"format": "tandem-graph", "version": 2, "name": "bnnet", "input": [1, 12, 12],
    "classes": 10, "nodes": [
    {"name": "c1", "op": "conv2d", "out_channels": 4, "kernel": 3, "pad": 1},
    {"name": "bn1", "op": "batchnorm"},
    {"name": "r1", "op": "relu"},
    {"name": "c2", "op": "conv2d", "out_channels": 4, "kernel": 3, "pad": 1, "groups": 4, "bias": false},
    {"name": "bn2", "op": "batchnorm"},
    {"name": "sum", "op": "add", "inputs": ["bn2", "r1"]},
    {"name": "c3", "op": "conv2d", "out_channels": 4, "kernel": 1},
    {"name": "bn3", "op": "batchnorm", "inputs": ["c3"]},
    {"name": "both", "op": "add", "inputs": ["bn3", "c3"]},
    {"name": "fc", "op": "linear", "inputs": ["both"], "out": 10}]})",
                                     "bnnet");
  Network net(spec, {cpu_device()});
  net.init(3);
  uint32_t seed = 90;
  for (Param* p : net.params()) p->value.copy_from_host(ref::random(p->value.shape(), ++seed, -1, 1).v.data());
  for (Param* b : net.buffers())  // running means in [-0.5, 0.5], variances in [0.5, 2]
    b->value.copy_from_host(ref::random(b->value.shape(), ++seed, b->name.ends_with("var") ? 0.5f : -0.5f,
                                        b->name.ends_with("var") ? 2 : 0.5f)
                                .v.data());
  const std::string dir = temp_dir("fold");
  std::filesystem::create_directories(dir);
  write_model_file(dir + "/plain.tdm", net, {0, 1});
  write_model_file(dir + "/folded.tdm", net, {0, 1}, true);
  const ModelFile plain = read_model_file(dir + "/plain.tdm"), folded = read_model_file(dir + "/folded.tdm");
  std::vector<std::string> layers;
  for (const LayerSpec& l : folded.spec.layers) layers.push_back(l.name);
  EXPECT_EQ(layers, (std::vector<std::string>{"c1", "r1", "c2", "sum", "c3", "bn3", "both", "fc"}));
  EXPECT_TRUE(folded.spec.layers[2].bias);  // c2 had none: the fold gives it one
  EXPECT_EQ(folded.buffers.size(), 2u);     // bn3's
  EXPECT_EQ(nlohmann::json::parse(read_checkpoint(dir + "/folded.tdm").header_json)["folded_batchnorm"], 2);
  const Tensor x = test::up(cpu_device(), ref::random({3, 1, 12, 12}, 7));
  std::vector<float> logits[2];
  for (int k = 0; k < 2; ++k) {
    const ModelFile& f = k == 0 ? plain : folded;
    Network inference(f.spec, {cpu_device()}, Purpose::inference);
    load_weights(inference, f);
    logits[k] = inference.forward(x).to_f32();
  }
  test::expect_close(logits[1], logits[0], 1e-5, 1e-5, "folded logits");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tandem::nn
