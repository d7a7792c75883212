#include "tandem/file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "tandem/error.h"
#include "tandem/fault.h"

namespace tandem {
namespace {

[[noreturn]] void fail(const std::string& path, const char* what, int err) {
  throw Error(ErrorKind::io, "", "write " + path, std::string(what) + ": " + std::strerror(err));
}

[[noreturn]] void refuse(const std::string& what, const std::string& why) {
  throw Error(ErrorKind::invalid_argument, "", what, why);
}

// "a directory", "a FIFO", …: what a path is when it is not a regular file.
std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// The path a symlink chain ends at (the last link's target need not exist).
std::filesystem::path follow_links(const std::string& path, const std::string& what) {
  std::filesystem::path p(path);
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st {};
    if (lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    std::error_code ec;
    const std::filesystem::path target = std::filesystem::read_symlink(p, ec);
    if (ec) refuse(what, "cannot read the symlink " + p.string() + ": " + ec.message());
    p = target.is_absolute() ? target : p.parent_path() / target;
  }
  refuse(what, path + ": too many levels of symbolic links");
}

// The writable directory `dir` is or will be created in: itself if it exists, else the nearest
// existing ancestor. Throws naming `what` when that is not a writable directory.
void check_writable_dir(const std::filesystem::path& dir, const std::string& what, bool may_create) {
  std::filesystem::path d = dir.empty() ? "." : dir;
  struct stat st {};
  while (stat(d.c_str(), &st) != 0) {
    if (errno != ENOENT || !may_create) refuse(what, "directory " + d.string() + ": " + std::strerror(errno));
    const std::filesystem::path up = d.has_parent_path() && d.parent_path() != d ? d.parent_path() : ".";
    if (up == d) refuse(what, "directory " + d.string() + " does not exist");
    d = up;
  }
  if (!S_ISDIR(st.st_mode)) refuse(what, d.string() + " is " + kind_of(st.st_mode) + ", not a directory");
  if (access(d.c_str(), W_OK | X_OK) != 0) refuse(what, "directory " + d.string() + " is not writable");
}

// Opens `path` for reading without blocking on a FIFO, and checks it is a regular file.
int open_regular(const std::string& path, const std::string& what, struct stat& st) {
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorKind::io, "", what, std::string("cannot open: ") + std::strerror(errno));
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const std::string kind = S_ISREG(st.st_mode) ? "cannot stat" : kind_of(st.st_mode);
    close(fd);
    throw Error(ErrorKind::io, "", what, path + " is " + kind + ", not a regular file");
  }
  return fd;
}

}  // namespace

std::string check_output_file(const std::string& path, const std::string& what) {
  if (path.empty()) refuse(what, "no path given");
  const std::filesystem::path target = follow_links(path, what);
  struct stat st {};
  if (stat(target.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode))
      refuse(what, target.string() + " is " + kind_of(st.st_mode) + "; only a regular file is written");
    if (access(target.c_str(), W_OK) != 0) refuse(what, target.string() + " is read-only");
  } else if (errno != ENOENT) {
    refuse(what, target.string() + ": " + std::strerror(errno));
  }
  check_writable_dir(target.parent_path(), what, false);
  return target.string();
}

void check_output_dir(const std::string& path, const std::string& what) {
  if (path.empty()) refuse(what, "no directory given");
  check_writable_dir(path, what, true);
}

void write_file_atomic(const std::string& given, std::string_view data) {
  std::string path;
  try {
    path = check_output_file(given, "write " + given);
  } catch (const Error& e) {  // for a writer, a path it cannot write is an I/O error
    throw Error(ErrorKind::io, "", e.op(), e.detail());
  }
  const std::filesystem::path target(path);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  std::string tmp = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  const int fd = mkstemp(tmp.data());
  if (fd < 0) fail(path, "cannot create a temporary file", errno);
  auto abandon = [&](const char* what) {
    const int err = errno;
    close(fd);
    unlink(tmp.c_str());
    fail(path, what, err);
  };
  auto write_all = [&](std::string_view part) {
    for (size_t done = 0; done < part.size();) {
      const ssize_t n = write(fd, part.data() + done, part.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) abandon("write failed");
      done += static_cast<size_t>(n);
    }
  };
  write_all(data.substr(0, data.size() / 2));
  try {  // an injected failure leaves half a temporary file, as a full disk would
    faults::point(faults::Site::write, "", path);
  } catch (...) {
    close(fd);
    unlink(tmp.c_str());
    throw;
  }
  write_all(data.substr(data.size() / 2));
  if (fchmod(fd, 0644) != 0) abandon("chmod failed");
  if (fsync(fd) != 0) abandon("fsync failed");
  if (close(fd) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    fail(path, "close failed", err);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    fail(path, "rename failed", err);
  }
  const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {  // make the rename itself durable; not all file systems allow this
    fsync(dfd);
    close(dfd);
  }
}

int remove_abandoned_temporaries(const std::string& path) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  const std::string prefix = "." + target.filename().string() + ".";
  std::error_code ec;
  int removed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    // mkstemp's six characters after the prefix, and nothing else: ".checkpoint.tdm.AbC123"
    if (name.size() != prefix.size() + 6 || !name.starts_with(prefix) || !entry.is_regular_file(ec)) continue;
    if (std::filesystem::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

DirectoryLock::DirectoryLock(const std::string& dir, const std::string& what) {
  check_output_dir(dir, what);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) refuse(what, "cannot create directory " + dir + ": " + ec.message());
  fd_ = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) refuse(what, "cannot open directory " + dir + ": " + std::strerror(errno));
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    close(fd_);
    fd_ = -1;
    refuse(what, err == EWOULDBLOCK ? dir + " is in use by another run (it holds the directory's lock)"
                                    : "cannot lock " + dir + ": " + std::strerror(err));
  }
}

DirectoryLock& DirectoryLock::operator=(DirectoryLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) close(fd_);  // closing the last descriptor releases the lock
}

void require_regular_file(const std::string& path, const std::string& what) {
  struct stat st {};
  close(open_regular(path, what, st));
}

std::string read_file(const std::string& path, const std::string& what, uint64_t limit) {
  struct stat st {};
  const int fd = open_regular(path, what, st);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > limit) {
    close(fd);
    throw Error(ErrorKind::io, "", what,
                path + " is " + std::to_string(size) + " bytes, larger than the limit of " + std::to_string(limit));
  }
  std::string data(size, '\0');  // what the file held when opened: a file still growing is read to that size
  for (size_t done = 0; done < data.size();) {
    const ssize_t n = read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : 0;
      close(fd);
      throw Error(ErrorKind::io, "", what, err ? std::string("read failed: ") + std::strerror(err) : "read failed: the file shrank");
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  return data;
}

}  // namespace tandem
