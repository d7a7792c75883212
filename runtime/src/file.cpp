#include "tandem/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tandem/error.h"
#include "tandem/fault.h"

namespace tandem {
namespace {

[[noreturn]] void fail(const std::string& path, const char* what, int err) {
  throw Error(ErrorKind::io, "", "write " + path, std::string(what) + ": " + std::strerror(err));
}

}  // namespace

void write_file_atomic(const std::string& path, std::string_view data) {
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

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, "", what, "cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::io, "", what, "read failed");
  return std::move(s).str();
}

}  // namespace tandem
