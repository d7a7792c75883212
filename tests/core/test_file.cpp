// Outputs and inputs by the rules of tandem/file.h: a write goes through a symlink to its target
// and never turns a device, FIFO or directory into a file; a read takes regular files only, so a
// FIFO or /dev/zero named as input fails at once instead of hanging; a directory is locked by one
// run at a time.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../ops/harness.h"
#include "tandem/dtype.h"
#include "tandem/error.h"
#include "tandem/file.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;

struct FileScratch {
  fs::path dir = fs::temp_directory_path() / ("tandem-file-rules-" + std::to_string(getpid()));
  FileScratch() {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~FileScratch() { fs::remove_all(dir); }
  std::string at(const std::string& name) const { return (dir / name).string(); }
};

std::string file_contents(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(FileRules, OutputsThatAreNotRegularFilesAreRefused) {
  FileScratch s;
  ASSERT_EQ(mkfifo(s.at("fifo").c_str(), 0600), 0);
  fs::create_directory(s.at("dir"));
  fs::create_symlink("/dev/null", s.at("to-null"));
  test::expect_error([&] { check_output_file(s.at("dir"), "--json"); }, ErrorKind::invalid_argument,
                     {"--json", "is a directory"});
  test::expect_error([&] { check_output_file("/dev/null", "--json"); }, {"a character device"});
  test::expect_error([&] { check_output_file(s.at("fifo"), "--json"); }, {"a FIFO"});
  test::expect_error([&] { check_output_file(s.at("to-null"), "--json"); }, {"/dev/null is a character device"});
  test::expect_error([&] { check_output_file(s.at("missing/out.json"), "--json"); }, {"missing"});
  test::expect_error([&] { check_output_file("", "--json"); }, {"no path given"});
  // write_file_atomic follows the same rules: nothing is replaced.
  test::expect_error([&] { write_file_atomic(s.at("fifo"), "x"); }, {"a FIFO"});
  test::expect_error([&] { write_file_atomic(s.at("to-null"), "x"); }, {"character device"});
  struct stat st {};
  ASSERT_EQ(lstat(s.at("fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  ASSERT_EQ(lstat(s.at("to-null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST(FileRules, WritesGoThroughSymlinksToTheirTarget) {
  FileScratch s;
  write_file_atomic(s.at("real.json"), "old");
  fs::create_symlink("real.json", s.at("link.json"));  // relative: resolved from the link's directory
  fs::create_symlink(s.at("link.json"), s.at("chain.json"));
  fs::create_symlink("not-yet.json", s.at("dangling.json"));
  EXPECT_EQ(check_output_file(s.at("chain.json"), "--export"), s.at("real.json"));
  write_file_atomic(s.at("chain.json"), "new");
  EXPECT_EQ(file_contents(s.at("real.json")), "new");
  EXPECT_TRUE(fs::is_symlink(s.at("link.json")));
  EXPECT_TRUE(fs::is_symlink(s.at("chain.json")));
  write_file_atomic(s.at("dangling.json"), "created");  // a dangling link: its target is created
  EXPECT_EQ(file_contents(s.at("not-yet.json")), "created");
  EXPECT_TRUE(fs::is_symlink(s.at("dangling.json")));
  fs::create_symlink("loop-b", s.at("loop-a"));
  fs::create_symlink("loop-a", s.at("loop-b"));
  test::expect_error([&] { check_output_file(s.at("loop-a"), "--export"); }, {"too many levels"});
}

TEST(FileRules, OutputDirectories) {
  FileScratch s;
  write_file_atomic(s.at("file"), "x");
  check_output_dir(s.at("new/deeper"), "--checkpoint");  // created on first use: its parent is writable
  EXPECT_FALSE(fs::exists(s.at("new")));                  // (checking creates nothing)
  test::expect_error([&] { check_output_dir(s.at("file"), "--checkpoint"); }, {"--checkpoint", "not a directory"});
  test::expect_error([&] { check_output_dir(s.at("file/sub"), "--checkpoint"); }, {"file/sub: Not a directory"});
  test::expect_error([&] { check_output_dir("/dev/null", "--out"); }, {"character device"});
  if (geteuid() != 0) {  // root writes into read-only directories, so for root this is no refusal
    fs::create_directory(s.at("ro"));
    fs::permissions(s.at("ro"), fs::perms::owner_read | fs::perms::owner_exec);
    test::expect_error([&] { check_output_dir(s.at("ro"), "--checkpoint"); }, {"not writable"});
    test::expect_error([&] { check_output_file(s.at("ro/m.tdm"), "--export"); }, {"not writable"});
    fs::permissions(s.at("ro"), fs::perms::owner_all);
  }
}

TEST(FileRules, ReadsTakeRegularFilesOnly) {
  FileScratch s;
  ASSERT_EQ(mkfifo(s.at("fifo").c_str(), 0600), 0);
  fs::create_symlink("/dev/zero", s.at("zeros"));
  // Neither blocks (no writer on the FIFO) nor grows without bound (/dev/zero).
  test::expect_error([&] { read_file(s.at("fifo"), "model file fifo"); }, ErrorKind::io, {"model file fifo", "a FIFO"});
  test::expect_error([&] { read_file(s.at("zeros"), "checkpoint zeros"); }, {"character device"});
  test::expect_error([&] { read_file(s.dir.string(), "profile"); }, {"a directory"});
  test::expect_error([&] { require_regular_file(s.at("fifo"), "read fifo"); }, {"a FIFO"});
  test::expect_error([&] { read_file(s.at("absent"), "model file absent"); }, {"cannot open"});
  write_file_atomic(s.at("big"), std::string(1000, 'x'));
  EXPECT_EQ(read_file(s.at("big"), "big").size(), 1000u);
  test::expect_error([&] { read_file(s.at("big"), "big", 999); }, {"1000 bytes, larger than the limit of 999"});
}

TEST(FileRules, ADirectoryIsLockedByOneHolder) {
  FileScratch s;
  {
    DirectoryLock first(s.at("ckpt"), "--checkpoint");
    EXPECT_TRUE(fs::is_directory(s.at("ckpt")));
    test::expect_error([&] { DirectoryLock second(s.at("ckpt"), "--checkpoint"); }, {"in use by another run"});
    DirectoryLock moved = std::move(first);  // the lock moves with the object
    test::expect_error([&] { DirectoryLock third(s.at("ckpt"), "--checkpoint"); }, {"in use"});
  }
  DirectoryLock again(s.at("ckpt"), "--checkpoint");  // released with its holder
}

TEST(FileRules, NonFiniteValuesAreFound) {
  const float f[] = {1.0f, -0.0f, 3.4e38f, std::numeric_limits<float>::infinity(), 0.5f};
  EXPECT_EQ(first_non_finite(DType::f32, f, 3), -1);
  EXPECT_EQ(first_non_finite(DType::f32, f, 5), 3);
  const float n[] = {0.0f, std::nanf("")};
  EXPECT_EQ(first_non_finite(DType::f32, n, 2), 1);
  const uint16_t h[] = {f32_to_f16(1.0f), f32_to_f16(65504.0f), f32_to_f16(1e6f)};  // the last overflows to inf
  EXPECT_EQ(first_non_finite(DType::f16, h, 2), -1);
  EXPECT_EQ(first_non_finite(DType::f16, h, 3), 2);
  const uint16_t b[] = {f32_to_bf16(3e38f), f32_to_bf16(std::nanf(""))};
  EXPECT_EQ(first_non_finite(DType::bf16, b, 2), 1);
  const int32_t i[] = {-1, 0x7f800000};
  EXPECT_EQ(first_non_finite(DType::i32, i, 2), -1);  // integers have no NaN
}

}  // namespace
}  // namespace tandem
