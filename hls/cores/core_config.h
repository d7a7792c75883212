// The cores' compile-time configuration, shared with the performance model and the resource
// estimate so that the model describes the hardware these sources synthesize to.
#pragma once

namespace tandem_hls {

// A bitstream build may choose other tiles (-DTANDEM_HLS_TILE_N=64 …); the performance model
// checks that a configuration fits the card before anyone builds it.
#ifndef TANDEM_HLS_TILE_M
#define TANDEM_HLS_TILE_M 64
#endif
#ifndef TANDEM_HLS_TILE_N
#define TANDEM_HLS_TILE_N 32
#endif
#ifndef TANDEM_HLS_TILE_K
#define TANDEM_HLS_TILE_K 64
#endif

/// MAC engine tiles (gemm_engine.h): TM × TN accumulators, reduction steps of TK; TN parallel
/// single-precision multiply-adders.
constexpr int kTileM = TANDEM_HLS_TILE_M, kTileN = TANDEM_HLS_TILE_N, kTileK = TANDEM_HLS_TILE_K;

}  // namespace tandem_hls
