// NCCL between GPUs: the Communicator interface on device tensors and CUDA streams. The
// communicator is bootstrapped through another one (MPI between processes): rank 0 draws the
// ncclUniqueId and broadcasts it. It is non-blocking (ncclConfig_t::blocking = 0): every call
// and every request checks NCCL's asynchronous error, and a request not complete within the
// timeout aborts the NCCL communicator (ncclCommAbort) before failing with Error(timeout), so a
// dead peer never hangs the GPU queue.
#pragma once

#include <memory>

#include "tandem/collectives/communicator.h"

namespace tandem::collectives {

/// True when this build has NCCL (and the CUDA backend).
bool nccl_built();

/// An NCCL communicator over the ranks of `bootstrap`, this rank driving `gpu` (a cuda device;
/// one GPU per rank, as NCCL requires). Collective over `bootstrap`. Collectives on tensors in
/// host memory go over `bootstrap` instead (small values: losses, timings), so code written for
/// any communicator runs unchanged. Error(unsupported) in a build without NCCL;
/// Error(invalid_argument) when `gpu` is not a cuda device.
std::shared_ptr<Communicator> nccl_communicator(std::shared_ptr<Communicator> bootstrap, const Device& gpu);

}  // namespace tandem::collectives
