// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator, so the random word for any element is a pure function of its key
// and position. Header-only and free of library calls, so CPU kernels, CUDA kernels and HLS
// cores compile the same code and produce bit-identical streams for the same key.
#pragma once

#include <array>
#include <cstdint>

namespace tandem::numeric {

using PhiloxCounter = std::array<uint32_t, 4>;
using PhiloxKeyWords = std::array<uint32_t, 2>;

/// Ten rounds of Philox4x32 on one counter block.
constexpr PhiloxCounter philox4x32_10(PhiloxCounter c, PhiloxKeyWords k) {
  constexpr uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u, w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) k = {k[0] + w0, k[1] + w1};
    const uint64_t p0 = uint64_t{m0} * c[0], p1 = uint64_t{m1} * c[2];
    c = {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<uint32_t>(p1),
         static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<uint32_t>(p0)};
  }
  return c;
}

/// Who draws: the same (seed, step, rank, offset) and element give the same number on every
/// device. Different steps or ranks give independent streams; `offset` is where the tensor
/// starts in the model's flattened gradient, so each tensor draws its own part of the stream.
struct RandomKey {
  uint64_t seed = 0;
  uint32_t step = 0;
  uint32_t rank = 0;
  uint64_t offset = 0;
};

/// Block `block` of the stream keyed by the seed, with step and rank in the counter's high
/// words: the random words of elements 4·block … 4·block + 3.
constexpr PhiloxCounter random_block(const RandomKey& key, uint64_t block) {
  return philox4x32_10({static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), key.step, key.rank},
                       {static_cast<uint32_t>(key.seed), static_cast<uint32_t>(key.seed >> 32)});
}

/// The random 32-bit word for element i of the tensor: word p%4 of block p/4, p = key.offset + i.
constexpr uint32_t random_u32(const RandomKey& key, uint64_t i) {
  const uint64_t p = key.offset + i;
  return random_block(key, p >> 2)[p & 3];
}

/// Uniform in [0, 1) with 24 random bits (every value exactly representable in f32).
constexpr float uniform_from(uint32_t word) { return static_cast<float>(word >> 8) * (1.0f / 16777216.0f); }
constexpr float random_uniform(const RandomKey& key, uint64_t i) { return uniform_from(random_u32(key, i)); }

/// Element-by-element random words for loops over consecutive offsets: one Philox block per
/// four elements instead of one per element.
class RandomWords {
 public:
  explicit constexpr RandomWords(const RandomKey& key) : key_(key) {}
  constexpr uint32_t operator()(uint64_t i) {
    const uint64_t p = key_.offset + i;
    if ((p >> 2) != block_) {
      block_ = p >> 2;
      words_ = random_block(key_, block_);
    }
    return words_[p & 3];
  }

 private:
  RandomKey key_;
  uint64_t block_ = ~uint64_t{0};
  PhiloxCounter words_{};
};

}  // namespace tandem::numeric
