// The cores' compile-time configuration, shared with the performance model and the resource
// estimate so that the model describes the hardware these sources synthesize to.
#pragma once

namespace tandem_hls {

/// MAC engine tiles (gemm_engine.h): TM × TN accumulators, reduction steps of TK; TN parallel
/// single-precision multiply-adders.
constexpr int kTileM = 64, kTileN = 32, kTileK = 64;

}  // namespace tandem_hls
