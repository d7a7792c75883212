// Files written so that a crash never leaves a half-written one: temp file, fsync, rename.
#pragma once

#include <string>
#include <string_view>

namespace tandem {

/// Replaces `path` with `data` atomically (write to a temp file beside it, fsync, rename,
/// fsync the directory). Throws Error(io) naming the path and the system error.
void write_file_atomic(const std::string& path, std::string_view data);

}  // namespace tandem
