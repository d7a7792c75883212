// --compress auto: per bucket, the codec that minimizes the predicted synchronization time
// within an error budget (in the spirit of CGX's adaptive compression).
#pragma once

#include <vector>

#include "tandem/collectives/buckets.h"

namespace tandem::collectives {

struct CodecChoice {
  compression::CodecSpec spec;
  double relative_error = 0;     ///< ‖decode(encode(g)) − g‖ / ‖g‖ on the gradient it was chosen for
  double predicted_seconds = 0;  ///< local encode + decode (timed) plus modeled wire time
  uint64_t message_bytes = 0;
};

/// none, fp16, bf16, int8, sign, topk_sampled:0.01.
std::vector<compression::CodecSpec> auto_candidates();

/// For each bucket gradient: among the candidates whose relative error on it is within
/// `error_budget`, the one with the least predicted time — its encode + decode timed here, plus
/// the wire time from `link`: α + β·bytes for allreduce codecs, α + β·(p/2)·message bytes for
/// allgather codecs (a ring allgather moves (p−1)·m per rank, an allreduce 2(p−1)/p·B). Rank 0
/// decides and broadcasts, so every rank picks the same. Collective.
std::vector<CodecChoice> choose_codecs(Communicator& comm, const LinkModel& link, const std::vector<Tensor>& gradients,
                                       double error_budget,
                                       const std::vector<compression::CodecSpec>& candidates = auto_candidates());

}  // namespace tandem::collectives
