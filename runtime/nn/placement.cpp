#include "tandem/nn/placement.h"

#include <algorithm>
#include <map>

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

  // What each layer reads, and the last layer to read each one (the final layer's output is read
  // by the loss, after every layer).
  std::vector<std::vector<size_t>> reads(nl);
  std::vector<size_t> last_read(nl, 0);
  for (size_t i = 0; i < nl; ++i) {
    const std::vector<int>& inputs = in.layers[i].inputs;
    if (inputs.empty() && i > 0) reads[i] = {i - 1};
    for (int j : inputs) {
      if (j >= static_cast<int>(i)) bad("layer " + in.layers[i].name + " reads a layer that does not come before it");
      if (j >= 0) reads[i].push_back(static_cast<size_t>(j));
    }
    for (size_t j : reads[i]) last_read[j] = i;
  }
  if (nl > 0) last_read[nl - 1] = nl;
  // Into layer i from layer j: the activation forward, its gradient back.
  const auto copy = [&](size_t j, size_t a, size_t b) {
    return a == b ? 0.0 : 2.0 * (in.latency + in.layers[j].out_bytes / bandwidth(a, b));
  };

  // After layer i, a state is the device of each live layer (in `live` order); each state keeps
  // the least time to reach it and how: the state before and layer i's device.
  struct Entry {
    std::vector<int> devices;
    double seconds;
    size_t from;  // an entry of the previous layer's table
    int device;   // layer i's
  };
  std::vector<std::vector<Entry>> tables(nl);
  std::vector<size_t> live;  // before layer i
  std::vector<Entry> start{{{}, 0.0, 0, -1}};
  for (size_t i = 0; i < nl; ++i) {
    std::vector<size_t> next;  // live after layer i
    for (size_t l : live)
      if (last_read[l] > i) next.push_back(l);
    if (last_read[i] > i) next.push_back(i);
    const auto position = [](const std::vector<size_t>& v, size_t l) {
      return static_cast<size_t>(std::find(v.begin(), v.end(), l) - v.begin());
    };
    const std::vector<Entry>& before = i == 0 ? start : tables[i - 1];
    std::map<std::vector<int>, size_t> index;
    std::vector<Entry>& table = tables[i];
    for (size_t k = 0; k < before.size(); ++k) {
      const Entry& s = before[k];
      for (size_t d = 0; d < nd; ++d) {
        if (!allowed[i][d]) continue;
        double t = s.seconds + in.layers[i].seconds[d];
        for (size_t j : reads[i]) t += copy(j, static_cast<size_t>(s.devices[position(live, j)]), d);
        std::vector<int> key;
        for (size_t l : next) key.push_back(l == i ? static_cast<int>(d) : s.devices[position(live, l)]);
        const auto [it, fresh] = index.emplace(key, table.size());
        if (fresh)
          table.push_back({std::move(key), t, k, static_cast<int>(d)});
        else if (t < table[it->second].seconds)
          table[it->second].seconds = t, table[it->second].from = k, table[it->second].device = static_cast<int>(d);
      }
    }
    if (table.size() > max_plan_states) {  // a beam: the cheapest states, in their order
      std::vector<size_t> order(table.size());
      for (size_t k = 0; k < order.size(); ++k) order[k] = k;
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t a, size_t b) { return table[a].seconds < table[b].seconds; });
      order.resize(max_plan_states);
      std::sort(order.begin(), order.end());
      std::vector<Entry> kept;
      for (size_t k : order) kept.push_back(std::move(table[k]));
      table = std::move(kept);
    }
    live = std::move(next);
  }
  p.device.assign(nl, 0);
  p.layer_seconds.assign(nl, 0);
  p.transfer_seconds.assign(nl, 0);
  if (nl == 0) return p;
  const std::vector<Entry>& last = tables[nl - 1];
  size_t at = static_cast<size_t>(
      std::min_element(last.begin(), last.end(), [](const Entry& a, const Entry& b) { return a.seconds < b.seconds; }) -
      last.begin());
  for (size_t i = nl; i-- > 0;) {
    p.device[i] = tables[i][at].device;
    at = tables[i][at].from;
  }
  for (size_t i = 0; i < nl; ++i) {
    const size_t d = static_cast<size_t>(p.device[i]);
    p.layer_seconds[i] = in.layers[i].seconds[d];
    for (size_t j : reads[i]) p.transfer_seconds[i] += copy(j, static_cast<size_t>(p.device[j]), d);
    p.total_seconds += p.layer_seconds[i] + p.transfer_seconds[i];
  }
  return p;
}

}  // namespace tandem::nn
