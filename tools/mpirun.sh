#!/usr/bin/env bash
# mpirun with the flags this kind of machine needs:
#   --oversubscribe          more ranks than cores (2-core machines, 4-rank tests)
#   --bind-to none           oversubscribed ranks must not be pinned to the same core
#   --allow-run-as-root      containers and CI run as root; OpenMPI refuses otherwise
#   vader single-copy off    CMA (process_vm_readv) is blocked in containers; shared memory works
# Usage: tools/mpirun.sh -np 4 build/bin/tandem train ...
set -euo pipefail
flags=(--oversubscribe --bind-to none)
[ "$(id -u)" = 0 ] && flags+=(--allow-run-as-root)
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
exec mpirun "${flags[@]}" "$@"
