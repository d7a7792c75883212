#include "tandem/balance.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "tandem/error.h"

namespace tandem {
namespace {

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorKind::invalid_argument, "", "load balancer", what); }

// Integer shares of `total` proportional to `weights`, each at least 1: floors of the ideal
// shares, then the remaining samples to the largest remainders (ties to the lower index).
std::vector<int64_t> apportion(const std::vector<double>& weights, int64_t total) {
  const size_t n = weights.size();
  const double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  const int64_t spare = total - static_cast<int64_t>(n);  // one sample each first
  std::vector<int64_t> out(n, 1);
  std::vector<double> remainder(n);
  int64_t given = 0;
  for (size_t i = 0; i < n; ++i) {
    const double ideal = static_cast<double>(spare) * weights[i] / sum;
    const auto whole = static_cast<int64_t>(std::floor(ideal));
    out[i] += whole;
    given += whole;
    remainder[i] = ideal - static_cast<double>(whole);
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return remainder[a] > remainder[b]; });
  for (size_t k = 0; given < spare; ++k, ++given) ++out[order[k % n]];
  return out;
}

}  // namespace

LoadBalancer::LoadBalancer(int workers, int64_t total, double gain) : total_(total), gain_(gain) {
  if (workers < 1) bad("needs at least one worker");
  if (total < workers)
    bad(std::to_string(total) + " samples cannot give each of " + std::to_string(workers) + " workers one");
  if (!(gain >= 0 && gain < 1)) bad("gain must be in [0, 1)");
  shares_ = apportion(std::vector<double>(static_cast<size_t>(workers), 1.0), total);
}

int64_t LoadBalancer::offset(int worker) const {
  if (worker < 0 || static_cast<size_t>(worker) >= shares_.size()) bad("no worker " + std::to_string(worker));
  return std::accumulate(shares_.begin(), shares_.begin() + worker, int64_t{0});
}

void LoadBalancer::set_shares(std::vector<int64_t> shares) {
  if (shares.size() != shares_.size())
    bad(std::to_string(shares.size()) + " shares for " + std::to_string(shares_.size()) + " workers");
  if (std::any_of(shares.begin(), shares.end(), [](int64_t s) { return s < 1; })) bad("every share must be ≥ 1");
  if (std::accumulate(shares.begin(), shares.end(), int64_t{0}) != total_)
    bad("shares must sum to the " + std::to_string(total_) + " samples of a step");
  shares_ = std::move(shares);
}

void LoadBalancer::check(const std::vector<double>& t) const {
  if (t.size() != shares_.size())
    bad(std::to_string(t.size()) + " measurements for " + std::to_string(shares_.size()) + " workers");
  for (double x : t)
    if (!(x > 0) || !std::isfinite(x)) bad("seconds per sample must be positive and finite");
}

std::vector<int64_t> LoadBalancer::proposal(const std::vector<double>& seconds_per_sample) const {
  check(seconds_per_sample);
  std::vector<double> speed(seconds_per_sample.size());
  for (size_t i = 0; i < speed.size(); ++i) speed[i] = 1.0 / seconds_per_sample[i];
  return apportion(speed, total_);
}

bool LoadBalancer::update(const std::vector<double>& seconds_per_sample) {
  const std::vector<int64_t> next = proposal(seconds_per_sample);
  const auto step_time = [&](const std::vector<int64_t>& s) {
    double worst = 0;
    for (size_t i = 0; i < s.size(); ++i) worst = std::max(worst, static_cast<double>(s[i]) * seconds_per_sample[i]);
    return worst;
  };
  if (next == shares_ || step_time(next) > step_time(shares_) * (1.0 - gain_)) return false;
  shares_ = next;
  return true;
}

}  // namespace tandem
