// main() of the tests that open XRT's no-op device. Once every test has finished (each device,
// kernel and buffer of ours destroyed inside its test), the process ends without running static
// destructors: XRT 2.13's own teardown of its shim singletons was seen to hang after a passing
// test (once, under load, in a fresh root), which would turn a green test into a timeout.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(rc);
}
