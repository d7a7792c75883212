// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator, so the random word for any element is a pure function of its key
// and position. Header-only and free of library calls, so CPU kernels, CUDA kernels and HLS
// cores compile the same code and produce bit-identical streams for the same key.
#pragma once

#include <array>
#include <cstdint>

namespace tandem::compression {

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

/// Who draws: the same (seed, step, rank) and element offset give the same number on every
/// device. Different steps or ranks give independent streams.
struct RandomKey {
  uint64_t seed = 0;
  uint32_t step = 0;
  uint32_t rank = 0;
};

/// The random 32-bit word for element `offset`: block offset/4 of the stream keyed by the seed,
/// with step and rank in the counter's high words; word offset%4 of that block.
constexpr uint32_t random_u32(const RandomKey& key, uint64_t offset) {
  const uint64_t block = offset >> 2;
  const PhiloxCounter out =
      philox4x32_10({static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), key.step, key.rank},
                    {static_cast<uint32_t>(key.seed), static_cast<uint32_t>(key.seed >> 32)});
  return out[offset & 3];
}

/// Uniform in [0, 1) with 24 random bits (every value exactly representable in f32).
constexpr float random_uniform(const RandomKey& key, uint64_t offset) {
  return static_cast<float>(random_u32(key, offset) >> 8) * (1.0f / 16777216.0f);
}

}  // namespace tandem::compression
