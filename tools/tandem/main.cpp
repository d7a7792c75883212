// tandem: the command-line front end: info, bench, train, topo, plan, calibrate, compare.
#include <cstdio>
#include <new>

#include "commands.h"
#include "options.h"
#include "tandem/error.h"

int main(int argc, char** argv) {
  const std::unique_ptr<CLI::App> app = tandem::cli::make_app();
  try {
    if (const int status = tandem::cli::parse_or_report(*app, argc, argv); status >= 0) return status;
  } catch (const tandem::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    // The allocations Tandem makes itself say what, how much and where (tandem::Error); this is
    // one inside a library, with nothing more to tell.
    std::fprintf(stderr, "tandem: out of host memory (an allocation inside a library failed)\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem: %s\n", e.what());
    return 1;
  }
  return 0;
}
