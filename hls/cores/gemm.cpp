// GEMM core: output-stationary tiles. For each TM × TN tile of c, the reduction runs in steps of
// TK: an A tile and a B tile are burst-read from their m_axi ports into on-chip buffers, then the
// MAC engine (gemm_engine.h) adds their product. The write-back applies alpha and beta; with
// beta = 0, c is not read (as BLAS: whatever c held, NaN included, is overwritten).
// tandem_gemm_batched runs the same tile nest over a batch of matrices stored one after another
// (attention's per-head products), in one launch.
#include "cores.h"
#include "gemm_engine.h"

using namespace tandem_hls;

namespace {

void gemm_tiles(const float* a, const float* b, float* c, int m, int n, int k, int trans_a, int trans_b, float alpha,
                float beta) {
  static float acc[kTileM][kTileN];
  static float at[kTileM][kTileK];
  static float bt[kTileK][kTileN];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
#pragma HLS ARRAY_PARTITION variable = bt complete dim = 2
tiles_i:
  for (int i0 = 0; i0 < m; i0 += kTileM) {
  tiles_j:
    for (int j0 = 0; j0 < n; j0 += kTileN) {
    clear:
      for (int i = 0; i < kTileM; ++i) {
#pragma HLS PIPELINE II = 1
        TANDEM_TRIP("gemm.clear");
        for (int j = 0; j < kTileN; ++j) acc[i][j] = 0.0f;
      }
    steps_k:
      for (int k0 = 0; k0 < k; k0 += kTileK) {
        const int kd = k - k0 < kTileK ? k - k0 : kTileK;
      load_a:  // rows past m read as zero; only the kd columns the MAC loop uses are loaded
        for (int i = 0; i < kTileM; ++i)
          for (int kk = 0; kk < kd; ++kk) {
#pragma HLS PIPELINE II = 1
            TANDEM_TRIP("gemm.load_a");
            const int r = i0 + i, q = k0 + kk;
            at[i][kk] = r < m ? (trans_a ? a[q * m + r] : a[r * k + q]) : 0.0f;
          }
      load_b:
        for (int kk = 0; kk < kd; ++kk)
          for (int j = 0; j < kTileN; ++j) {
#pragma HLS PIPELINE II = 1
            TANDEM_TRIP("gemm.load_b");
            const int q = k0 + kk, col = j0 + j;
            bt[kk][j] = col < n ? (trans_b ? b[col * k + q] : b[q * n + col]) : 0.0f;
          }
        mac_tile(acc, at, bt, kd);
      }
    store:
      for (int i = 0; i < kTileM && i0 + i < m; ++i)
        for (int j = 0; j < kTileN && j0 + j < n; ++j) {
#pragma HLS PIPELINE II = 1
          TANDEM_TRIP("gemm.store");
          float* out = c + (i0 + i) * n + j0 + j;
          *out = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *out;
        }
    }
  }
}

}  // namespace

extern "C" void tandem_gemm(const float* a, const float* b, float* c, int m, int n, int k, int trans_a, int trans_b,
                            float alpha, float beta) {
#pragma HLS INTERFACE m_axi port = a offset = slave bundle = gmem0 max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = b offset = slave bundle = gmem1 max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = c offset = slave bundle = gmem2 max_write_burst_length = 64
#pragma HLS INTERFACE s_axilite port = m
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = k
#pragma HLS INTERFACE s_axilite port = trans_a
#pragma HLS INTERFACE s_axilite port = trans_b
#pragma HLS INTERFACE s_axilite port = alpha
#pragma HLS INTERFACE s_axilite port = beta
#pragma HLS INTERFACE s_axilite port = return
  gemm_tiles(a, b, c, m, n, k, trans_a, trans_b, alpha, beta);
}

extern "C" void tandem_gemm_batched(const float* a, const float* b, float* c, int batch, int m, int n, int k,
                                    int trans_a, int trans_b, float alpha, float beta) {
#pragma HLS INTERFACE m_axi port = a offset = slave bundle = gmem0 max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = b offset = slave bundle = gmem1 max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = c offset = slave bundle = gmem2 max_write_burst_length = 64
#pragma HLS INTERFACE s_axilite port = batch
#pragma HLS INTERFACE s_axilite port = m
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = k
#pragma HLS INTERFACE s_axilite port = trans_a
#pragma HLS INTERFACE s_axilite port = trans_b
#pragma HLS INTERFACE s_axilite port = alpha
#pragma HLS INTERFACE s_axilite port = beta
#pragma HLS INTERFACE s_axilite port = return
matrices:
  for (int i = 0; i < batch; ++i)
    gemm_tiles(a + static_cast<long>(i) * m * k, b + static_cast<long>(i) * k * n, c + static_cast<long>(i) * m * n, m, n,
               k, trans_a, trans_b, alpha, beta);
}
