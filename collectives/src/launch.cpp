#include <cstdlib>
#include <string>

#include "tandem/collectives/communicator.h"

namespace tandem::collectives {

// The world size a launcher announces: OpenMPI's mpirun, PMI (MPICH, Slurm), PMIx.
bool launched_with_ranks() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const char* v = std::getenv(var); v != nullptr && std::atoi(v) > 1) return true;
  return false;
}

}  // namespace tandem::collectives
