// An implicit GEMM on the MAC engine: out[row][col] = Σ_q A(row, q) · B(q, col), where A and B are
// computed on the fly from the operands (im2col, transposed convolution) instead of stored. Tiles
// as in the GEMM core; the B tile is streamed from its producer (DATAFLOW), A is burst-read.
// Used by the convolution and its gradients; each core instantiates it with its own fetchers, so
// each has its own trip counters (named after the core).
#pragma once

#include "gemm_engine.h"
#include "tandem_hls/hls_compat.h"

namespace tandem_hls {

/// The trip-counter names of a core's loops (clear may be null: not counted).
struct GemmLoopNames {
  const char *clear, *load_a, *produce_b, *store;
};

template <class FetchA, class FetchB, class Store>
void implicit_gemm(int rows, int cols, int depth, FetchA fetch_a, FetchB fetch_b, Store store,
                   const GemmLoopNames& names) {
  static float acc[kTileM][kTileN];
  static float at[kTileM][kTileK];
  static float bt[kTileK][kTileN];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
#pragma HLS ARRAY_PARTITION variable = bt complete dim = 2
  for (int r0 = 0; r0 < rows; r0 += kTileM)
    for (int c0 = 0; c0 < cols; c0 += kTileN) {
      for (int i = 0; i < kTileM; ++i) {
#pragma HLS PIPELINE II = 1
        if (names.clear) TANDEM_TRIP(names.clear);
        for (int j = 0; j < kTileN; ++j) acc[i][j] = 0.0f;
      }
      for (int q0 = 0; q0 < depth; q0 += kTileK) {
        const int kd = depth - q0 < kTileK ? depth - q0 : kTileK;
        for (int i = 0; i < kTileM; ++i)
          for (int kk = 0; kk < kd; ++kk) {
#pragma HLS PIPELINE II = 1
            TANDEM_TRIP(names.load_a);
            at[i][kk] = r0 + i < rows ? fetch_a(r0 + i, q0 + kk) : 0.0f;
          }
        {
#pragma HLS DATAFLOW
          hls::stream<float> b("b");
#pragma HLS STREAM variable = b depth = 64
          for (int kk = 0; kk < kd; ++kk)
            for (int j = 0; j < kTileN; ++j) {
#pragma HLS PIPELINE II = 1
              TANDEM_TRIP(names.produce_b);
              b.write(c0 + j < cols ? fetch_b(q0 + kk, c0 + j) : 0.0f);
            }
          for (int kk = 0; kk < kd; ++kk)
            for (int j = 0; j < kTileN; ++j) {
#pragma HLS PIPELINE II = 1
              bt[kk][j] = b.read();
            }
        }
        mac_tile(acc, at, bt, kd);
      }
      for (int i = 0; i < kTileM && r0 + i < rows; ++i)
        for (int j = 0; j < kTileN && c0 + j < cols; ++j) {
#pragma HLS PIPELINE II = 1
          TANDEM_TRIP(names.store);
          store(r0 + i, c0 + j, acc[i][j]);
        }
    }
}

}  // namespace tandem_hls
