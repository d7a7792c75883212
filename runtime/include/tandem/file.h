// Files written so that a crash never leaves a half-written one: temp file, fsync, rename.
#pragma once

#include <string>
#include <string_view>

namespace tandem {

/// Replaces `path` with `data` atomically (write to a temp file beside it, fsync, rename,
/// fsync the directory). Throws Error(io) naming the path and the system error.
void write_file_atomic(const std::string& path, std::string_view data);

/// Removes the temporary files a writer of `path` killed mid-write (SIGKILL, power loss) left
/// beside it (".<name>.XXXXXX"), and returns how many. Only for a path with one writer, which is
/// not writing now (a job's checkpoint, at its start).
int remove_abandoned_temporaries(const std::string& path);

/// The whole file at `path`. Throws Error(io) with `what` as its operation ("checkpoint m.tdm"):
/// "cannot open" or "read failed".
std::string read_file(const std::string& path, const std::string& what);

}  // namespace tandem
