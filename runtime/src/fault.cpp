#include "tandem/fault.h"

#include <charconv>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tandem/error.h"
#include "tandem/log.h"

namespace tandem::faults {
namespace {

constexpr Site kSites[] = {Site::alloc, Site::launch, Site::copy, Site::collective, Site::write};

struct Rule {
  Site site;
  std::string target;  // empty: any event at the site
  uint64_t nth = 1;
  bool onward = false;
  uint64_t seen = 0;
  std::string text;  // as written, for the message
};

struct State {
  std::mutex mutex;
  std::vector<Rule> rules;
  std::string pending;  // TANDEM_FAULTS, parsed at the first event so a bad spec is an Error, not a crash
  std::atomic<uint64_t> injected{0};
};

State& state() {
  static State s;
  return s;
}

[[noreturn]] void bad_spec(std::string_view spec, const std::string& detail) {
  throw Error(ErrorKind::invalid_argument, "", "TANDEM_FAULTS",
              "'" + std::string(spec) + "': " + detail +
                  " (expected SITE[@TARGET]=N[+] items and rank=R, comma-separated; sites: alloc, launch, copy, "
                  "collective, write)");
}

std::optional<uint64_t> number(std::string_view s) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The rank the launcher gave this process, or -1 outside a launcher.
long launcher_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"})
    if (const char* v = std::getenv(name)) return std::strtol(v, nullptr, 10);
  return -1;
}

// The rules of a spec; empty when its rank=R names another process.
std::vector<Rule> parse(std::string_view spec) {
  std::vector<Rule> rules;
  std::optional<uint64_t> rank;
  for (size_t start = 0; start <= spec.size();) {
    size_t end = spec.find(',', start);
    if (end == std::string_view::npos) end = spec.size();
    const std::string_view item = spec.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) bad_spec(item, "no '=N'");
    std::string_view head = item.substr(0, eq), count = item.substr(eq + 1);
    if (head == "rank") {
      rank = number(count);
      if (!rank) bad_spec(item, "rank must be a number");
      continue;
    }
    Rule r;
    r.text = std::string(item);
    const size_t at = head.find('@');
    if (at != std::string_view::npos) {
      r.target = std::string(head.substr(at + 1));
      head = head.substr(0, at);
      if (r.target.empty()) bad_spec(item, "empty target after '@'");
    }
    bool known = false;
    for (Site s : kSites)
      if (head == site_name(s)) r.site = s, known = true;
    if (!known) bad_spec(item, "unknown site '" + std::string(head) + "'");
    if (!count.empty() && count.back() == '+') r.onward = true, count.remove_suffix(1);
    const std::optional<uint64_t> n = number(count);
    if (!n || *n == 0) bad_spec(item, "the count must be a number from 1");
    r.nth = *n;
    rules.push_back(std::move(r));
  }
  if (rank && static_cast<long>(*rank) != launcher_rank()) rules.clear();
  return rules;
}

bool matches(std::string_view target, std::string_view s) {
  if (!target.empty() && target.back() == '*') return s.starts_with(target.substr(0, target.size() - 1));
  return s == target;
}

bool matches(const Rule& r, Site site, std::string_view device, std::string_view what) {
  if (r.site != site) return false;
  if (r.target.empty()) return true;
  const size_t slash = what.rfind('/');
  return matches(r.target, device) || matches(r.target, what) ||
         (slash != std::string_view::npos && matches(r.target, what.substr(slash + 1)));
}

ErrorKind kind_of(Site s) {
  switch (s) {
    case Site::alloc:
      return ErrorKind::out_of_memory;
    case Site::launch:
    case Site::copy:
      return ErrorKind::device;
    case Site::collective:
      return ErrorKind::communication;
    case Site::write:
      return ErrorKind::io;
  }
  return ErrorKind::internal;
}

const char* failure_of(Site s) {
  switch (s) {
    case Site::alloc:
      return "allocation failed";
    case Site::launch:
      return "kernel launch failed";
    case Site::copy:
      return "copy failed";
    case Site::collective:
      return "collective failed";
    case Site::write:
      return "write failed";
  }
  return "failed";
}

bool env_armed() {
  const char* spec = std::getenv("TANDEM_FAULTS");
  if (spec == nullptr || *spec == '\0') return false;
  state().pending = spec;
  return true;
}

}  // namespace

std::string_view site_name(Site s) {
  switch (s) {
    case Site::alloc:
      return "alloc";
    case Site::launch:
      return "launch";
    case Site::copy:
      return "copy";
    case Site::collective:
      return "collective";
    case Site::write:
      return "write";
  }
  return "?";
}

namespace detail {

std::atomic<bool> armed{env_armed()};

void hit(Site site, std::string_view device, std::string_view what) {
  State& s = state();
  std::string fired;
  {
    std::lock_guard lock(s.mutex);
    if (!s.pending.empty()) {
      const std::string spec = std::move(s.pending);
      s.pending.clear();
      s.rules = parse(spec);  // throws on a bad spec, leaving no rules
      TANDEM_LOG(warn,
                 "fault injection armed from TANDEM_FAULTS=" << spec << (s.rules.empty() ? " (not this rank)" : ""));
    }
    for (Rule& r : s.rules) {
      if (!matches(r, site, device, what)) continue;
      ++r.seen;
      if (r.seen == r.nth || (r.onward && r.seen > r.nth)) {
        fired = r.text;
        break;
      }
    }
  }
  if (fired.empty()) return;
  s.injected.fetch_add(1);
  const std::string op = site == Site::write ? "write " + std::string(what) : std::string(what);
  throw Error(kind_of(site), std::string(device), op,
              std::string(failure_of(site)) + " (fault injected by TANDEM_FAULTS " + fired + ")");
}

}  // namespace detail

void arm(std::string_view spec) {
  std::vector<Rule> rules = parse(spec);
  std::lock_guard lock(state().mutex);
  state().pending.clear();
  state().rules = std::move(rules);
  detail::armed.store(true);
}

void disarm() {
  std::lock_guard lock(state().mutex);
  state().pending.clear();
  state().rules.clear();
  detail::armed.store(false);
}

uint64_t injected() { return state().injected.load(); }

}  // namespace tandem::faults
