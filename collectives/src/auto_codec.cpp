#include "tandem/collectives/auto_codec.h"

#include <chrono>
#include <cmath>

#include "tandem/error.h"

namespace tandem::collectives {

std::vector<compression::CodecSpec> auto_candidates() {
  std::vector<compression::CodecSpec> c;
  for (const char* name : {"none", "fp16", "bf16", "int8", "sign", "topk_sampled:0.01"})
    c.push_back(compression::parse_codec(name));
  return c;
}

std::vector<CodecChoice> choose_codecs(Communicator& comm, const LinkModel& link, const std::vector<Tensor>& gradients,
                                       double error_budget, const std::vector<compression::CodecSpec>& candidates) {
  if (candidates.empty()) throw Error(ErrorKind::invalid_argument, "", "compress auto", "no candidate codecs");
  const double p = comm.size();
  std::vector<CodecChoice> out(gradients.size());
  std::vector<int32_t> pick(gradients.size(), 0);
  if (comm.rank() == 0) {
    for (size_t b = 0; b < gradients.size(); ++b) {
      const Tensor& g = gradients[b];
      Stream s(g.device());
      const std::vector<float> x = g.to_f32();
      double norm = 0;
      for (float v : x) norm += double(v) * v;
      Tensor y = Tensor::empty(g.device(), g.shape());
      double best = INFINITY;
      for (size_t c = 0; c < candidates.size(); ++c) {
        compression::GradientCodec codec(candidates[c]);
        codec.decompress(s, codec.compress(s, g, {}), y);  // warm: allocate the scratch
        const auto start = std::chrono::steady_clock::now();
        const std::span<const uint8_t> m = codec.compress(s, g, {});
        codec.decompress(s, m, y);
        const double local = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const std::vector<float> v = y.to_f32();
        double err = 0;
        for (size_t i = 0; i < v.size(); ++i) err += double(v[i] - x[i]) * (v[i] - x[i]);
        const double rel = norm > 0 ? std::sqrt(err / norm) : 0.0;
        const bool reduce =
            compression::codec_traits(candidates[c].codec).aggregation == compression::Aggregation::allreduce;
        const double bytes = static_cast<double>(compression::payload_bytes(candidates[c], g.shape()));
        const double wire = link.alpha + link.beta * (reduce ? bytes : p / 2 * static_cast<double>(m.size()));
        const double predicted = local + wire;
        if (rel <= error_budget && predicted < best) {
          best = predicted;
          pick[b] = static_cast<int32_t>(c);
          out[b] = {candidates[c], rel, predicted, m.size()};
        }
      }
      if (!std::isfinite(best)) out[b] = {candidates[0], 0.0, 0.0, 0};  // nothing within budget: send dense
    }
  }
  // Every rank uses rank 0's choices.
  Stream host(cpu_device());
  Tensor t = Tensor::from_vector(cpu_device(), {static_cast<int64_t>(pick.size())}, pick);
  comm.broadcast(host, t, 0);
  const std::vector<int32_t> chosen = t.to_vector<int32_t>();
  for (size_t b = 0; b < gradients.size(); ++b)
    if (comm.rank() != 0) out[b].spec = candidates[static_cast<size_t>(chosen[b])];
  return out;
}

}  // namespace tandem::collectives
