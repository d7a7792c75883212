// tandem: the command-line front end: info, bench, train, topo, plan, calibrate, compare.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include "commands.h"
#include "options.h"
#include "tandem/error.h"

int main(int argc, char** argv) {
  const std::unique_ptr<CLI::App> app = tandem::cli::make_app();
  try {
    if (const int status = tandem::cli::parse_or_report(*app, argc, argv); status >= 0) return status;
    // Tables and reports go to stdout: a full disk or a closed pipe there is a failure too.
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      std::fprintf(stderr, "tandem: writing to standard output failed: %s\n", std::strerror(errno));
      return 1;
    }
  } catch (const tandem::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    // Tandem's own device allocations say what, how much and where (tandem::Error); this is a
    // host allocation inside a library, which tells nothing more than the phase it failed in.
    const std::string& at = tandem::cli::stage();
    std::fprintf(stderr, "tandem: out of host memory%s%s (a host allocation failed; a smaller --batch, subset or "
                 "model needs less)\n", at.empty() ? "" : " while ", at.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem: %s\n", e.what());
    return 1;
  }
  return 0;
}
