#include "tandem/nn/placement.h"

#include <algorithm>

#include "tandem/error.h"

namespace tandem::nn {
namespace {

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorKind::invalid_argument, "", "placement", what); }

bool matches(const std::string& pattern, const std::string& name) {
  if (!pattern.empty() && pattern.back() == '*') return name.rfind(pattern.substr(0, pattern.size() - 1), 0) == 0;
  return pattern == name;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_pins(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t at = 0;
  while (at <= text.size() && !text.empty()) {
    const size_t comma = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, comma - at);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      bad("--place entry '" + item + "': expected LAYER=DEVICE (e.g. conv1=fpga-sim:0, fc*=cpu)");
    out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    at = comma + 1;
  }
  return out;
}

void check_pins(const std::vector<std::pair<std::string, std::string>>& pins, const std::vector<std::string>& layers,
                const std::vector<std::string>& devices) {
  const auto device_of = [&](const std::string& id) {
    const std::string want = id.find(':') == std::string::npos ? id + ":0" : id;
    if (std::find(devices.begin(), devices.end(), want) != devices.end()) return want;
    std::string known;
    for (const std::string& d : devices) known += (known.empty() ? "" : ", ") + d;
    bad("--place pin to '" + id + "': not among the devices (" + known + ")");
  };
  std::string names;
  for (const std::string& l : layers) names += (names.empty() ? "" : ", ") + l;
  // Every pin must place some layer, and no layer may be pinned to two devices: a typo or a
  // conflict is an error, never silently ignored or decided by the order of the pins.
  for (const auto& [pattern, id] : pins) {
    device_of(id);
    if (std::none_of(layers.begin(), layers.end(), [&p = pattern](const std::string& l) { return matches(p, l); }))
      bad("--place " + pattern + "=" + id + ": no layer is named " + pattern + " (layers: " + names + ")");
  }
  for (const std::string& l : layers) {
    const std::pair<std::string, std::string>* first = nullptr;
    for (const auto& pin : pins) {
      if (!matches(pin.first, l)) continue;
      if (first != nullptr && device_of(first->second) != device_of(pin.second))
        bad("--place pins layer " + l + " twice: " + first->first + "=" + first->second + " and " + pin.first + "=" +
            pin.second);
      if (first == nullptr) first = &pin;
    }
  }
}

Plan plan_placement(const PlanInput& in) {
  const size_t nd = in.devices.size(), nl = in.layers.size();
  if (nd == 0) bad("no devices to place on");
  const auto bandwidth = [&](size_t a, size_t b) { return in.bandwidth.empty() ? 10e9 : in.bandwidth.at(a).at(b); };
  const auto device_index = [&](const std::string& id) {
    const std::string want = id.find(':') == std::string::npos ? id + ":0" : id;
    for (size_t d = 0; d < nd; ++d)
      if (in.devices[d] == want) return static_cast<int>(d);
    std::string known;
    for (const std::string& d : in.devices) known += (known.empty() ? "" : ", ") + d;
    bad("pin to '" + id + "': not among the devices (" + known + ")");
  };

  std::vector<std::string> names;
  for (const LayerCost& l : in.layers) names.push_back(l.name);
  check_pins(in.pins, names, in.devices);

  // Which devices each layer may use: its pin if that device can run it, else every device that
  // can (with one warning naming the layer, the pinned device and its reason).
  Plan p;
  std::vector<std::vector<bool>> allowed(nl, std::vector<bool>(nd, false));
  for (size_t i = 0; i < nl; ++i) {
    const LayerCost& l = in.layers[i];
    if (l.seconds.size() != nd) bad("layer " + l.name + ": one cost per device expected");
    int pin = -1;
    for (const auto& [pattern, id] : in.pins)
      if (matches(pattern, l.name)) pin = device_index(id);
    const auto can = [&](size_t d) { return l.seconds[d] < kUnsupported; };
    if (pin >= 0 && can(static_cast<size_t>(pin))) {
      allowed[i][static_cast<size_t>(pin)] = true;
      continue;
    }
    if (pin >= 0) {
      const std::string why = l.missing.size() == nd ? l.missing[static_cast<size_t>(pin)] : "";
      p.warnings.push_back("layer " + l.name + " is pinned to " + in.devices[static_cast<size_t>(pin)] +
                           ", which cannot run it" + (why.empty() ? "" : " (" + why + ")") +
                           "; placed by the cost model instead");
    }
    bool any = false;
    for (size_t d = 0; d < nd; ++d) {
      allowed[i][d] = can(d);
      any = any || allowed[i][d];
    }
    if (!any) {
      std::string why;
      for (size_t d = 0; d < nd; ++d)
        why += (why.empty() ? "" : "; ") + in.devices[d] + ": " + (l.missing.size() == nd ? l.missing[d] : "");
      bad("layer " + l.name + " can run on none of the devices (" + why + ")");
    }
  }

  // best[i][d]: least time for layers 0..i with layer i on d; from[i][d]: the device of layer i-1.
  std::vector<std::vector<double>> best(nl, std::vector<double>(nd, kUnsupported));
  std::vector<std::vector<int>> from(nl, std::vector<int>(nd, -1));
  const auto copy = [&](size_t i, size_t a, size_t b) {  // into layer i: its input forward, its gradient back
    return a == b ? 0.0 : 2.0 * (in.latency + in.layers[i - 1].out_bytes / bandwidth(a, b));
  };
  for (size_t d = 0; d < nd; ++d)
    if (nl > 0 && allowed[0][d]) best[0][d] = in.layers[0].seconds[d];
  for (size_t i = 1; i < nl; ++i)
    for (size_t d = 0; d < nd; ++d) {
      if (!allowed[i][d]) continue;
      for (size_t e = 0; e < nd; ++e) {
        const double t = best[i - 1][e] + copy(i, e, d) + in.layers[i].seconds[d];
        if (t < best[i][d]) best[i][d] = t, from[i][d] = static_cast<int>(e);
      }
    }
  p.device.assign(nl, 0);
  p.layer_seconds.assign(nl, 0);
  p.transfer_seconds.assign(nl, 0);
  if (nl == 0) return p;
  p.device[nl - 1] =
      static_cast<int>(std::min_element(best[nl - 1].begin(), best[nl - 1].end()) - best[nl - 1].begin());
  for (size_t i = nl - 1; i > 0; --i) p.device[i - 1] = from[i][static_cast<size_t>(p.device[i])];
  for (size_t i = 0; i < nl; ++i) {
    const size_t d = static_cast<size_t>(p.device[i]);
    p.layer_seconds[i] = in.layers[i].seconds[d];
    p.transfer_seconds[i] = i == 0 ? 0.0 : copy(i, static_cast<size_t>(p.device[i - 1]), d);
    p.total_seconds += p.layer_seconds[i] + p.transfer_seconds[i];
  }
  return p;
}

}  // namespace tandem::nn
