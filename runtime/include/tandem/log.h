// Logging: a level (from TANDEM_LOG, the CLI, or set_log_level) and a replaceable sink.
// Messages below the level cost one comparison; the sink is called under a lock.
#pragma once

#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace tandem {

enum class LogLevel { trace, debug, info, warn, error, off };

std::string_view log_level_name(LogLevel l);
std::optional<LogLevel> parse_log_level(std::string_view name);

/// Current level; initially from the environment variable TANDEM_LOG (default warn).
LogLevel log_level();
void set_log_level(LogLevel l);
inline bool log_enabled(LogLevel l) { return l >= log_level() && l != LogLevel::off; }

/// Replaces the sink (default: one line to stderr). An empty function restores the default.
using LogSink = std::function<void(LogLevel, std::string_view message)>;
void set_log_sink(LogSink sink);

void log_message(LogLevel l, std::string_view message);

/// Logs a message once per process for a given key, e.g. each fallback once.
void log_once(LogLevel l, const std::string& key, std::string_view message);

}  // namespace tandem

/// TANDEM_LOG(warn, "layer " << name << " fell back to cpu:0") — the stream is built only when
/// the level is enabled.
#define TANDEM_LOG(level, stream_expr)                                        \
  do {                                                                        \
    if (::tandem::log_enabled(::tandem::LogLevel::level)) {                   \
      std::ostringstream tandem_log_os_;                                      \
      tandem_log_os_ << stream_expr;                                          \
      ::tandem::log_message(::tandem::LogLevel::level, tandem_log_os_.str()); \
    }                                                                         \
  } while (0)
