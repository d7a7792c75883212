// Built when MPI is absent or switched off: the calls exist and say why they cannot work.
#include "tandem/collectives/communicator.h"
#include "tandem/error.h"

namespace tandem::collectives {

std::shared_ptr<Communicator> mpi_world() {
  throw Error(ErrorKind::unsupported, "", "mpi",
              "this build has no MPI (install libopenmpi-dev openmpi-bin and configure with -DTANDEM_WITH_MPI=AUTO)");
}

}  // namespace tandem::collectives
