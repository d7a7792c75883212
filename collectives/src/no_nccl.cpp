// Builds without NCCL: no NCCL communicator, said plainly.
#include "tandem/collectives/nccl.h"
#include "tandem/error.h"

namespace tandem::collectives {

bool nccl_built() { return false; }

std::shared_ptr<Communicator> nccl_communicator(std::shared_ptr<Communicator>, const Device& gpu) {
  throw Error(ErrorKind::unsupported, gpu ? gpu.id() : "", "nccl",
              "this build has no NCCL (needs the CUDA toolkit with NCCL; see the configure summary)");
}

}  // namespace tandem::collectives
