#include "tandem/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <unordered_set>

namespace tandem {
namespace {

LogLevel level_from_env() {
  const char* v = std::getenv("TANDEM_LOG");
  if (v == nullptr) return LogLevel::warn;
  if (auto l = parse_log_level(v)) return *l;
  std::fprintf(stderr, "tandem [warn] TANDEM_LOG=%s is not a level (trace, debug, info, warn, error, off)\n", v);
  return LogLevel::warn;
}

std::atomic<LogLevel>& current_level() {
  static std::atomic<LogLevel> level{level_from_env()};
  return level;
}

struct SinkState {
  std::mutex mutex;
  LogSink sink;
  std::unordered_set<std::string> once_keys;
};

SinkState& sink_state() {
  static SinkState s;
  return s;
}

}  // namespace

std::string_view log_level_name(LogLevel l) {
  switch (l) {
    case LogLevel::trace:
      return "trace";
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
    case LogLevel::off:
      return "off";
  }
  return "?";
}

std::optional<LogLevel> parse_log_level(std::string_view name) {
  for (LogLevel l : {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error, LogLevel::off})
    if (log_level_name(l) == name) return l;
  return std::nullopt;
}

LogLevel log_level() { return current_level().load(std::memory_order_relaxed); }
void set_log_level(LogLevel l) { current_level().store(l, std::memory_order_relaxed); }

void set_log_sink(LogSink sink) {
  std::lock_guard lock(sink_state().mutex);
  sink_state().sink = std::move(sink);
}

void log_message(LogLevel l, std::string_view message) {
  if (!log_enabled(l)) return;
  SinkState& s = sink_state();
  std::lock_guard lock(s.mutex);
  if (s.sink) {
    s.sink(l, message);
  } else {
    std::fprintf(stderr, "tandem [%s] %.*s\n", log_level_name(l).data(), static_cast<int>(message.size()),
                 message.data());
  }
}

void log_once(LogLevel l, const std::string& key, std::string_view message) {
  {
    std::lock_guard lock(sink_state().mutex);
    if (!sink_state().once_keys.insert(key).second) return;
  }
  log_message(l, message);
}

}  // namespace tandem
