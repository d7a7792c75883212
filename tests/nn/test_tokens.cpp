// Token data: token files with their vocabulary, bytes as tokens, synthetic tokens, sequences,
// and BERT's masking.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../ops/harness.h"
#include "tandem/nn/data.h"
#include "tandem/nn/model.h"

namespace tandem::nn {
namespace {

namespace fs = std::filesystem;

struct TokenFiles : ::testing::Test {
  fs::path dir = fs::temp_directory_path() / ("tandem-tokens-" + std::to_string(getpid()));
  void SetUp() override { fs::create_directories(dir); }
  void TearDown() override { fs::remove_all(dir); }
  std::string write(const std::string& name, const std::string& bytes) {
    const fs::path p = dir / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p.string();
  }
  std::string vocab(int n, int mask_at) {
    std::string v;
    for (int i = 0; i < n; ++i) v += (i == mask_at ? std::string("[MASK]") : "tok" + std::to_string(i)) + "\n";
    return write("vocab.txt", v);
  }
  static std::string little_endian(const std::vector<uint32_t>& ids, int bytes) {
    std::string s;
    for (uint32_t v : ids)
      for (int k = 0; k < bytes; ++k) s.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
    return s;
  }
};

TEST_F(TokenFiles, SixteenAndThirtyTwoBitIdsReadBack) {
  const std::string v = vocab(300, 299);
  const std::vector<uint32_t> ids{0, 1, 255, 256, 298, 7};
  for (int bits : {16, 32}) {
    const TokenCorpus c = read_token_file(write("t.bin", little_endian(ids, bits / 8)), v, bits);
    EXPECT_EQ(c.vocab, 300);
    EXPECT_EQ(c.mask_id, 299);
    ASSERT_EQ(c.ids.size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(c.ids[i], static_cast<int32_t>(ids[i])) << bits << " bits, id " << i;
  }
}

TEST_F(TokenFiles, BadFilesAreNamedWithWhatIsWrong) {
  const std::string v = vocab(10, 3);
  const std::string t = write("t.bin", little_endian({1, 2, 3}, 2));
  test::expect_error([&] { read_token_file(write("odd.bin", "abc"), v, 16); }, ErrorKind::io,
                     {"odd.bin", "3 bytes are not a whole number of 16-bit ids"});
  test::expect_error([&] { read_token_file(write("big.bin", little_endian({1, 10, 2}, 2)), v, 16); }, ErrorKind::io,
                     {"big.bin", "id 10 at position 1 is not below the 10 tokens"});
  test::expect_error([&] { read_token_file(write("empty.bin", ""), v, 16); }, ErrorKind::io, {"empty.bin", "is empty"});
  test::expect_error([&] { read_token_file(t, write("nomask.txt", "a\nb\nc\n"), 16); }, ErrorKind::io,
                     {"nomask.txt", "no line \"[MASK]\""});
  test::expect_error([&] { read_token_file(t, write("twice.txt", "[MASK]\nb\n[MASK]\n"), 16); }, ErrorKind::io,
                     {"twice.txt", "[MASK] twice (lines 1 and 3)"});
  test::expect_error([&] { read_token_file(t, (dir / "missing.txt").string(), 16); }, ErrorKind::io, {"missing.txt"});
  test::expect_error([&] { read_token_file(t, v, 8); }, ErrorKind::invalid_argument, {"16 or 32 bits"});
}

TEST_F(TokenFiles, BytesOfAFileOrADirectoryAreTokens) {
  const std::string a = write("a.txt", "hi\n");
  write("b.txt", "\xff!");
  write("b.dat", "index");  // fortune's indexes are skipped
  const TokenCorpus one = read_bytes_as_tokens(a);
  EXPECT_EQ(one.ids, (std::vector<int32_t>{'h', 'i', '\n'}));
  EXPECT_EQ(one.vocab, byte_vocab);
  EXPECT_EQ(one.mask_id, 256);
  const TokenCorpus all = read_bytes_as_tokens(dir.string());
  EXPECT_EQ(all.ids, (std::vector<int32_t>{'h', 'i', '\n', 255, '!'}));  // in name order, bytes unsigned
  test::expect_error([&] { read_bytes_as_tokens(write("e.txt", "")); }, ErrorKind::io, {"e.txt", "is empty"});
}

TEST(Tokens, SyntheticTokensLeaveTheMaskIdOut) {
  const TokenCorpus c = synthetic_tokens(5000, 50, 3);
  EXPECT_EQ(c.mask_id, 49);
  std::vector<int> seen(50, 0);
  for (int32_t v : c.ids) ++seen.at(static_cast<size_t>(v));
  EXPECT_EQ(seen[49], 0);
  for (int k = 0; k < 49; ++k) EXPECT_GT(seen[static_cast<size_t>(k)], 0) << k;
  EXPECT_EQ(synthetic_tokens(5000, 50, 3).ids, c.ids);
}

TEST(Tokens, SequencesSplitIntoTrainAndTest) {
  const TokenCorpus c = synthetic_tokens(1000, 20, 1);
  const auto [train, test] = token_datasets(c, 32, 0.1);  // 31 whole sequences, 3 held out
  EXPECT_EQ(train.count, 28);
  EXPECT_EQ(test.count, 3);
  EXPECT_EQ(train.rows, 32);
  EXPECT_TRUE(train.is_tokens() && test.is_tokens());
  EXPECT_EQ(train.classes, 20);
  EXPECT_EQ(train.tokens[33], c.ids[33]);
  EXPECT_EQ(test.tokens[0], c.ids[28 * 32]);
  EXPECT_EQ(head(train, 5).tokens.size(), 5u * 32);
  test::expect_error([&] { token_datasets(c, 600, 0.1); }, ErrorKind::invalid_argument, {"fewer than two sequences of 600"});
}

// Over many positions the chosen share is near 15%, and of those 80% [MASK], 10% random, 10%
// kept; the draws are fixed by the key (no luck involved: the same counts every run).
TEST(Tokens, MaskingFollowsBert) {
  const int64_t n = 200000, vocab = 1000;
  std::vector<int32_t> ids(n), in(n), labels(n);
  for (int64_t i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = static_cast<int32_t>(i % (vocab - 1));
  const int64_t chosen = mask_tokens(ids.data(), n, vocab, 999, 42, 7, in.data(), labels.data());
  int64_t masked = 0, kept = 0, labelled = 0;
  for (int64_t i = 0; i < n; ++i) {
    const size_t k = static_cast<size_t>(i);
    if (labels[k] == ignore_label) {
      EXPECT_EQ(in[k], ids[k]);
      continue;
    }
    ++labelled;
    EXPECT_EQ(labels[k], ids[k]);
    masked += in[k] == 999, kept += in[k] == ids[k];
  }
  EXPECT_EQ(labelled, chosen);
  EXPECT_NEAR(static_cast<double>(chosen) / n, 0.15, 0.005);
  EXPECT_NEAR(static_cast<double>(masked) / chosen, 0.8, 0.01);
  EXPECT_NEAR(static_cast<double>(kept) / chosen, 0.1, 0.01);  // (a random draw equal to the id counts as kept)
  // Same key and sample: the same mask; another sample: another.
  std::vector<int32_t> in2(n), labels2(n);
  mask_tokens(ids.data(), n, vocab, 999, 42, 7, in2.data(), labels2.data());
  EXPECT_EQ(in2, in);
  mask_tokens(ids.data(), n, vocab, 999, 42, 8, in2.data(), labels2.data());
  EXPECT_NE(labels2, labels);
  // A short sequence still gets one position to predict.
  int32_t one_in[2], one_label[2];
  for (uint64_t s = 0; s < 50; ++s) EXPECT_GE(mask_tokens(ids.data(), 2, vocab, 999, 1, s, one_in, one_label), 1);
}

}  // namespace
}  // namespace tandem::nn
