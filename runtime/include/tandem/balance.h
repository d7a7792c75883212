// Load balancing: a batch split over unequal workers (ranks, devices) in proportion to their
// measured speed, so that a synchronous step waits as little as possible for the slowest. The
// split changes only when the measured times promise a clearly shorter step (hysteresis), so
// noise does not make it oscillate. Deterministic: workers that feed it the same measurements
// get the same split.
#pragma once

#include <cstdint>
#include <vector>

namespace tandem {

class LoadBalancer {
 public:
  /// total samples per step over `workers`; `gain`: the least relative shortening of the
  /// predicted step time that justifies a new split.
  LoadBalancer(int workers, int64_t total, double gain = 0.03);

  /// Samples per worker (sum = total, each ≥ 1).
  const std::vector<int64_t>& shares() const { return shares_; }
  /// Where each worker's samples start in the step (prefix sums of the shares).
  int64_t offset(int worker) const;
  /// Sets the split (restoring a saved one); Error(invalid_argument) unless it sums to total
  /// with every share ≥ 1.
  void set_shares(std::vector<int64_t> shares);

  /// The split in proportion to 1 / seconds-per-sample (largest remainders, each ≥ 1).
  std::vector<int64_t> proposal(const std::vector<double>& seconds_per_sample) const;
  /// Adopts the proposal if it shortens the predicted step time, max over workers of
  /// share × seconds-per-sample, by at least `gain`. True when the split changed.
  bool update(const std::vector<double>& seconds_per_sample);

 private:
  int64_t total_;
  double gain_;
  std::vector<int64_t> shares_;
  void check(const std::vector<double>& seconds_per_sample) const;
};

}  // namespace tandem
