// The MAC array shared by the GEMM and convolution cores: an output tile of TM × TN
// accumulators, fed one reduction step at a time. The pipelined loop runs over (kk, i) with II=1
// and TN multiply-adds per iteration (the j loop unrolled, acc partitioned by columns):
// consecutive iterations touch different rows, so the adders' latency never stalls it.
#pragma once

#include "core_config.h"
#include "tandem_hls/trips.h"

namespace tandem_hls {

/// acc[i][j] += Σ_kk a[i][kk] · b[kk][j] for kk < kdepth.
inline void mac_tile(float acc[kTileM][kTileN], const float a[kTileM][kTileK], const float b[kTileK][kTileN],
                     int kdepth) {
mac_k:
  for (int kk = 0; kk < kdepth; ++kk) {
  mac_i:
    for (int i = 0; i < kTileM; ++i) {
#pragma HLS PIPELINE II = 1
      TANDEM_TRIP("mac");
    mac_j:
      for (int j = 0; j < kTileN; ++j) {
#pragma HLS UNROLL
        acc[i][j] += a[i][kk] * b[kk][j];
      }
    }
  }
}

}  // namespace tandem_hls
