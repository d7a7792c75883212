// Files read and written safely. A write never leaves a half-written file (temp file, fsync,
// rename) and never turns what is not a regular file into one; a read takes regular files only,
// bounded, so that a FIFO or /dev/zero named as input is an error, not a hang.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace tandem {

/// Where a write of `path` lands: the path, or, for a symlink, the file it points to (the chain
/// followed; the target need not exist yet). Throws Error(invalid_argument) with `what` as its
/// operation ("--export m.tdm") when the path is empty, when the target exists and is not a
/// regular file (a directory, device, FIFO or socket), or when the target's directory does not
/// exist or is not writable. Commands call it for every output before their work starts.
std::string check_output_file(const std::string& path, const std::string& what);

/// A directory outputs go to: exists and is a writable directory, or does not exist yet and its
/// parent is a writable directory (it is created on first use). Throws like check_output_file.
void check_output_dir(const std::string& path, const std::string& what);

/// Replaces the file at `path` (through a symlink: the file it points to) with `data`
/// atomically: a temp file beside it, fsync, rename, fsync the directory. Refuses a target that
/// is not a regular file (check_output_file). Throws Error(io) naming the path and the system error.
void write_file_atomic(const std::string& path, std::string_view data);

/// Removes the temporary files a writer of `path` killed mid-write (SIGKILL, power loss) left
/// beside it (".<name>.XXXXXX"), and returns how many. Only for a path with one writer, which is
/// not writing now (a job's checkpoint, at its start).
int remove_abandoned_temporaries(const std::string& path);

/// An exclusive lock on a directory (flock) for the object's life: two runs never write one
/// checkpoint directory at once. The kernel releases it when the process ends, however it ends.
class DirectoryLock {
 public:
  DirectoryLock() = default;
  /// Creates `dir` if needed and locks it; Error(invalid_argument) with `what` as its operation
  /// when another process holds it.
  DirectoryLock(const std::string& dir, const std::string& what);
  DirectoryLock(DirectoryLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  DirectoryLock& operator=(DirectoryLock&& other) noexcept;
  ~DirectoryLock();

 private:
  int fd_ = -1;
};

/// The most a read_file takes unless told otherwise: larger than any model, checkpoint or
/// dataset file Tandem writes or reads today, small enough to refuse a runaway input at once.
inline constexpr uint64_t default_read_limit = uint64_t{4} << 30;

/// The whole regular file at `path` (symlinks followed). Throws Error(io) with `what` as its
/// operation ("checkpoint m.tdm"): "cannot open", "not a regular file (a FIFO)", "larger than
/// the limit", "read failed". A FIFO, device or directory is refused without blocking.
std::string read_file(const std::string& path, const std::string& what, uint64_t limit = default_read_limit);

/// Throws Error(io) like read_file unless `path` names a regular file (symlinks followed), for
/// readers that open the file themselves (gzip streams).
void require_regular_file(const std::string& path, const std::string& what);

}  // namespace tandem
