// main() of the test programs that run under mpirun: MPI comes up before the tests, and ranks
// other than 0 print only failures, so one report reads cleanly.
#include <gtest/gtest.h>

#include "tandem/collectives/communicator.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto world = tandem::collectives::mpi_world();
  if (world->rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  return RUN_ALL_TESTS();
}
