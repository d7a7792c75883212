#include "tandem/nn/prune.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tandem/error.h"
#include "tandem/log.h"

namespace tandem::nn {

PruneConfig parse_prune(const std::string& text) {
  PruneConfig c;
  if (text.empty() || text == "none") return c;
  if (text == "2:4") {
    c.method = PruneMethod::two_four;
    c.sparsity = 0.5f;
    return c;
  }
  const auto colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  if (colon != std::string::npos && (kind == "magnitude" || kind == "global")) {
    char* end = nullptr;
    const std::string num = text.substr(colon + 1);
    const float s = std::strtof(num.c_str(), &end);
    if (!num.empty() && *end == '\0' && s > 0.0f && s < 1.0f) {
      c.method = kind == "magnitude" ? PruneMethod::layer_magnitude : PruneMethod::global_magnitude;
      c.sparsity = s;
      return c;
    }
  }
  throw Error(ErrorKind::invalid_argument, "", "prune",
              "'" + text + "' is not a pruning method (magnitude:S, global:S with 0 < S < 1, 2:4, none)");
}

std::string prune_name(const PruneConfig& c) {
  switch (c.method) {
    case PruneMethod::none:
      return "none";
    case PruneMethod::two_four:
      return "2:4";
    case PruneMethod::layer_magnitude:
      return "magnitude:" + std::to_string(c.sparsity);
    case PruneMethod::global_magnitude:
      return "global:" + std::to_string(c.sparsity);
  }
  return "?";
}

float gradual_sparsity(float final_sparsity, int k, int n) {
  const double left = 1.0 - static_cast<double>(k) / std::max(1, n);
  return static_cast<float>(final_sparsity * (1.0 - left * left * left));
}

namespace {

// Keeps mask = 1 except at the `count` positions with the smallest |w| (ties by position).
void mask_smallest(const std::vector<float>& w, size_t count, std::vector<float>& mask) {
  std::vector<uint32_t> order(w.size());
  std::iota(order.begin(), order.end(), 0u);
  auto smaller = [&](uint32_t a, uint32_t b) {
    const float fa = std::fabs(w[a]), fb = std::fabs(w[b]);
    return fa < fb || (fa == fb && a < b);
  };
  count = std::min(count, w.size());
  std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count), order.end(), smaller);
  mask.assign(w.size(), 1.0f);
  for (size_t i = 0; i < count; ++i) mask[order[i]] = 0.0f;
}

// Keeps the 2 largest |w| of every 4 consecutive weights in each row of length `row`.
bool mask_two_four(const std::vector<float>& w, int64_t row, std::vector<float>& mask) {
  mask.assign(w.size(), 1.0f);
  if (row % 4 != 0) return false;
  for (size_t g = 0; g + 4 <= w.size(); g += 4) {
    size_t idx[4] = {g, g + 1, g + 2, g + 3};
    std::sort(idx, idx + 4, [&](size_t a, size_t b) {
      const float fa = std::fabs(w[a]), fb = std::fabs(w[b]);
      return fa < fb || (fa == fb && a < b);
    });
    mask[idx[0]] = mask[idx[1]] = 0.0f;
  }
  return true;
}

void apply(Network& net, Param& p, const std::vector<float>& mask) {
  if (!p.mask) p.mask = Tensor::empty(p.value.device(), p.value.shape());
  p.mask.copy_from_host(mask.data());
  ops::mul(net.stream(p.value.device()), p.value, p.mask, p.value);
}

}  // namespace

void prune(Network& net, PruneMethod method, float target) {
  if (method == PruneMethod::none) return;
  std::vector<Param*> prunable;
  for (Param* p : net.params())
    if (p->prunable) prunable.push_back(p);
  std::vector<std::vector<float>> weights;
  for (Param* p : prunable) weights.push_back(p->value.to_f32());
  std::vector<float> mask;
  if (method == PruneMethod::global_magnitude) {
    std::vector<float> all;
    for (const auto& w : weights) all.insert(all.end(), w.begin(), w.end());
    mask_smallest(all, static_cast<size_t>(std::floor(target * static_cast<double>(all.size()))), mask);
    size_t at = 0;
    for (size_t i = 0; i < prunable.size(); ++i) {
      apply(net, *prunable[i],
            std::vector<float>(mask.begin() + static_cast<std::ptrdiff_t>(at),
                               mask.begin() + static_cast<std::ptrdiff_t>(at + weights[i].size())));
      at += weights[i].size();
    }
    return;
  }
  for (size_t i = 0; i < prunable.size(); ++i) {
    const Param& p = *prunable[i];
    if (method == PruneMethod::two_four) {
      const int64_t row = p.value.numel() / p.value.shape()[0];  // one output's inputs
      if (!mask_two_four(weights[i], row, mask)) {
        // Said, not silently skipped: depthwise and single-channel 3×3 filters have 9 inputs.
        log_once(LogLevel::warn, "2:4 " + p.name,
                 "2:4 leaves " + p.name + " dense: each output has " + std::to_string(row) +
                     " inputs, not a multiple of the 4 that 2:4 groups");
        continue;
      }
    } else {
      mask_smallest(weights[i], static_cast<size_t>(std::floor(target * static_cast<double>(weights[i].size()))), mask);
    }
    apply(net, *prunable[i], mask);
  }
}

double sparsity(const Param& p) {
  const std::vector<float> v = p.value.to_f32();
  if (v.empty()) return 0;
  return static_cast<double>(std::count(v.begin(), v.end(), 0.0f)) / static_cast<double>(v.size());
}

double overall_sparsity(const std::vector<Param*>& params) {
  double zeros = 0, total = 0;
  for (const Param* p : params)
    if (p->prunable) {
      zeros += sparsity(*p) * static_cast<double>(p->value.numel());
      total += static_cast<double>(p->value.numel());
    }
  return total > 0 ? zeros / total : 0;
}

}  // namespace tandem::nn
