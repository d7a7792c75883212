// Threshold selection + stream compaction, the selection step of sampled top-k: a counting pass
// (how many exceed the threshold, how many tie it) fixes how many ties fit under the limit; the
// second pass writes the selected (index, value) pairs in index order, one per cycle at most.
#include <cmath>

#include "cores.h"
#include "tandem_hls/trips.h"

extern "C" void tandem_compact(const float* x, float threshold, int32_t* idx, float* val, int32_t* count, int n,
                               int capacity, int64_t limit) {
#pragma HLS INTERFACE m_axi port = x offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = idx offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = val offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = count offset = slave bundle = gmem3
#pragma HLS INTERFACE s_axilite port = threshold
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = capacity
#pragma HLS INTERFACE s_axilite port = limit
#pragma HLS INTERFACE s_axilite port = return
  int64_t greater = 0, equal = 0;
count_pass:
  for (int i = 0; i < n; ++i) {
#pragma HLS PIPELINE II = 1
    TANDEM_TRIP("compact.count");
    const float m = std::fabs(x[i]);
    greater += m > threshold ? 1 : 0;
    equal += m == threshold ? 1 : 0;
  }
  int64_t ties = limit - greater > 0 ? limit - greater : 0;
  ties = ties < equal ? ties : equal;
  int at = 0;
  int64_t ties_left = ties;
select_pass:
  for (int i = 0; i < n && at < capacity; ++i) {
#pragma HLS PIPELINE II = 1
    TANDEM_TRIP("compact.select");
    const float m = std::fabs(x[i]);
    if (m > threshold || (m == threshold && ties_left-- > 0)) {
      idx[at] = i;
      val[at] = x[i];
      ++at;
    }
  }
  count[0] = static_cast<int32_t>(greater + ties);
}
