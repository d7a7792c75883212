// The card layer through XRT's no-op shim (XCL_EMULATION_MODE=noop; ctest sets XILINX_XRT to a
// folder whose lib/ holds the shim). What this shows: device 0 opens, a packed xclbin is checked,
// loaded and its kernels created; buffers are xrt::bo in the bank kernel.group_id names; host
// copies go through bo write/read + sync; runs start and wait(timeout) returns; mis-banked
// buffers are staged. What it cannot show: the shim computes nothing and moves no data to a
// device, so no test here asserts a kernel's result or a timing — that needs a card.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "tandem/error.h"
#include "xclbin_pack.h"
#include "xrt_card.h"

namespace tandem::fpga {
namespace {

const std::string kDir = TANDEM_XCLBIN_DIR;
const std::string kManifests = std::string(TANDEM_SOURCE_DIR) + "/bitstreams/manifests/";
constexpr std::chrono::milliseconds kTimeout{5000};

XrtCard open_u250() { return XrtCard(0, kDir + "/u250.xclbin", load_manifest(kManifests + "u250.json"), kTimeout); }

TEST(Noop, CountsTheEmulatedDeviceAndNoneWithoutXrt) {
  std::string why;
  EXPECT_GE(XrtCard::count(why), 1u) << why;
  const std::string saved = std::getenv("XILINX_XRT");
  unsetenv("XILINX_XRT");
  EXPECT_EQ(XrtCard::count(why), 0u);
  EXPECT_NE(why.find("XILINX_XRT"), std::string::npos) << why;
  setenv("XILINX_XRT", saved.c_str(), 1);
}

TEST(Noop, LoadsTheXclbinAndWiresArgumentsToTheirBanks) {
  XrtCard card = open_u250();
  EXPECT_EQ(card.id(), "fpga-xrt:0");
  for (const ManifestKernel& k : card.manifest().kernels) {
    ASSERT_TRUE(card.has_kernel(k.name)) << k.name;
    for (const ManifestArg& a : k.args) {
      if (a.pointer()) {
        EXPECT_EQ(card.bank_of(k.name, a.index), card.default_bank()) << k.name << "." << a.name;
      }
    }
  }
  EXPECT_THROW(card.bank_of("tandem_nothing", 0), Error);
}

TEST(Noop, BuffersAreBosInTheirBankAndCopiesKeepOffsets) {
  XrtCard card = open_u250();
  const auto a = card.allocate(1024);
  const auto b = card.allocate_in(256, card.bank_of("tandem_gemm", 2));
  EXPECT_EQ(a->bank(), card.default_bank());
  EXPECT_EQ(a->size(), 1024u);
  // Through the shim this checks the (bo, offset) arithmetic and that XRT accepts the partial
  // syncs; the bytes come back from the bo's host side, not from a card.
  std::vector<float> in(64), out(64, -1.0f);
  std::iota(in.begin(), in.end(), 0.0f);
  card.write(*a, 256, in.data(), 256);
  card.fill(*a, 0, 0, 256);
  card.read(out.data(), *a, 256, 256);
  EXPECT_EQ(in, out);
  EXPECT_NO_THROW(card.copy(*b, 0, *a, 256, 256));
  // A range running past a buffer is an error.
  EXPECT_THROW(card.write(*a, 1000, in.data(), 64), Error);
  EXPECT_THROW(card.copy(*b, 128, *a, 0, 256), Error);
}

TEST(Noop, LaunchesARunAndWaitsForIt) {
  XrtCard card = open_u250();
  const int n = 256;
  const auto x = card.allocate(n * sizeof(float));
  const auto y = card.allocate(2 * n * sizeof(float));
  const std::vector<KernelArg> args = {KernelArg::buffer(*x, 0, n * sizeof(float), false),
                                       KernelArg::buffer(*y, 0, n * sizeof(float), true), KernelArg::scalar(0.5f),
                                       KernelArg::scalar(n), KernelArg::scalar(0)};
  EXPECT_NO_THROW(card.launch("tandem_axpy", args));
  // A view at an offset into a buffer goes as a sub-buffer.
  std::vector<KernelArg> view = args;
  view[1] = KernelArg::buffer(*y, n * sizeof(float), n * sizeof(float), true);
  EXPECT_NO_THROW(card.launch("tandem_axpy", view));
  EXPECT_EQ(card.staged_args(), 0u);
  EXPECT_THROW(card.launch("tandem_nothing", args), Error);
  // A view running past its buffer is refused before the launch.
  view[1] = KernelArg::buffer(*y, n * sizeof(float) + 4, n * sizeof(float), true);
  EXPECT_THROW(card.launch("tandem_axpy", view), Error);
}

// Runs start without a host wait and stay pending until waited for; a later run or host copy
// is ordered after a pending one exactly when their buffer ranges conflict (read after write,
// write after read or write). (Through the shim runs complete at once, so which runs are still
// pending when the next starts is timing; the conflict rule each start applies is not.)
TEST(Noop, RunsStartAsynchronouslyAndAreOrderedByTheBuffersTheyShare) {
  XrtCard card = open_u250();
  const int n = 64;
  const size_t bytes = n * sizeof(float);
  const auto x = card.allocate(bytes), y = card.allocate(bytes), z = card.allocate(2 * bytes);
  const auto axpy = [&](const XrtBuffer& from, const XrtBuffer& to, size_t to_offset) {
    const std::vector<KernelArg> args = {KernelArg::buffer(from, 0, bytes, false),
                                         KernelArg::buffer(to, to_offset, bytes, true), KernelArg::scalar(1.0f),
                                         KernelArg::scalar(n), KernelArg::scalar(0)};
    return card.start("tandem_axpy", args);
  };
  const auto first = axpy(*x, *y, 0);       // reads x, writes y
  const auto second = axpy(*x, *z, bytes);  // reads x, writes the second half of z
  EXPECT_FALSE(first->conflicts(*x, 0, bytes, false)) << "two reads of x need no order";
  EXPECT_TRUE(first->conflicts(*x, 0, bytes, true)) << "a write of x must follow its read";
  EXPECT_TRUE(first->conflicts(*y, 0, bytes, false)) << "a read of y must follow its write";
  EXPECT_TRUE(first->conflicts(*y, 0, bytes, true));
  EXPECT_FALSE(first->conflicts(*z, 0, 2 * bytes, true)) << "another buffer";
  EXPECT_FALSE(second->conflicts(*z, 0, bytes, true)) << "the other half of z";
  EXPECT_TRUE(second->conflicts(*z, bytes - 4, 8, false));
  axpy(*y, *x, 0);  // ordered after both: reads y, writes x
  EXPECT_NO_THROW(first->wait());
  EXPECT_NO_THROW(first->wait()) << "waiting twice";
  card.finish();
  EXPECT_TRUE(card.pending().empty());
  EXPECT_TRUE(second->done());
  // A host copy of y waits for the run writing it.
  const auto third = axpy(*x, *y, 0);
  std::vector<float> out(n);
  card.read(out.data(), *y, 0, bytes);
  EXPECT_TRUE(third->done());
  card.finish();
}

TEST(Noop, AScalarOfTheWrongWidthIsAnErrorNamingTheKernel) {
  XrtCard card = open_u250();
  const auto x = card.allocate(64);
  const std::vector<KernelArg> args = {KernelArg::buffer(*x, 0, 64, false), KernelArg::buffer(*x, 0, 64, true),
                                       KernelArg::scalar(0.5), KernelArg::scalar(16), KernelArg::scalar(0)};
  try {
    card.launch("tandem_axpy", args);
    FAIL() << "a double passed for a float argument was accepted";
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("kernel tandem_axpy argument 2 ('alpha', float) takes 4 bytes; got 8 bytes"),
        std::string::npos)
        << e.what();
  }
  const std::vector<KernelArg> short_list(args.begin(), args.end() - 1);
  try {
    card.launch("tandem_axpy", short_list);
    FAIL() << "a launch with an argument missing was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("kernel tandem_axpy takes 5 arguments, got 4"), std::string::npos)
        << e.what();
  }
}

TEST(Noop, ABufferInAnotherBankIsStaged) {
  nlohmann::json j = nlohmann::json::parse(std::ifstream(kManifests + "u250.json"));
  for (auto& k : j["kernels"])
    if (k["name"] == "tandem_axpy") k["args"][1]["bank"] = "DDR[1]";
  const Manifest m = parse_manifest(j.dump(), "moved.json");
  const std::string path = ::testing::TempDir() + "/moved.xclbin";
  write_file(path, pack_xclbin(m));
  XrtCard card(0, path, m, kTimeout);
  const int y_bank = card.bank_of("tandem_axpy", 1);
  EXPECT_NE(y_bank, card.default_bank());
  const auto x = card.allocate(64);
  const auto y = card.allocate(64);
  const std::vector<KernelArg> args = {KernelArg::buffer(*x, 0, 64, false), KernelArg::buffer(*y, 0, 64, true),
                                       KernelArg::scalar(1.0f), KernelArg::scalar(16), KernelArg::scalar(1)};
  card.launch("tandem_axpy", args);
  EXPECT_EQ(card.staged_args(), 1u);
  const auto y_home = card.allocate_in(64, y_bank);
  std::vector<KernelArg> direct = args;
  direct[1] = KernelArg::buffer(*y_home, 0, 64, true);
  card.launch("tandem_axpy", direct);
  EXPECT_EQ(card.staged_args(), 1u) << "a buffer already in the argument's bank was staged";
}

TEST(Noop, RunStatesBecomeErrorsNamingTheKernel) {
  // The shim completes every run at once, so a real timeout cannot happen here; this checks the
  // mapping the launch applies to what run.wait(timeout) returns.
  EXPECT_NO_THROW(check_run_state(ERT_CMD_STATE_COMPLETED, "fpga-xrt:0", "tandem_gemm", kTimeout));
  try {
    check_run_state(ERT_CMD_STATE_TIMEOUT, "fpga-xrt:0", "tandem_gemm", std::chrono::milliseconds(250));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::timeout);
    EXPECT_NE(std::string(e.what()).find("fpga-xrt:0 tandem_gemm: kernel tandem_gemm did not finish within 250 ms"),
              std::string::npos)
        << e.what();
  }
  try {
    check_run_state(ERT_CMD_STATE_ERROR, "fpga-xrt:0", "tandem_conv2d_forward", kTimeout);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::device);
    EXPECT_NE(std::string(e.what()).find("kernel tandem_conv2d_forward ended in state 'error'"), std::string::npos);
  }
}

TEST(Noop, ABadXclbinIsRefusedBeforeLoading) {
  const Manifest m = load_manifest(kManifests + "u250.json");
  for (const char* bad : {"bad_arg_name.xclbin", "missing_kernel.xclbin", "truncated.xclbin"})
    EXPECT_THROW(XrtCard(0, kDir + "/" + bad, m, kTimeout), Error) << bad;
}

}  // namespace
}  // namespace tandem::fpga
