#!/usr/bin/env bash
# mpirun with the flags this kind of machine needs:
#   --oversubscribe          more ranks than cores (2-core machines, 4-rank tests)
#   --bind-to none           oversubscribed ranks must not be pinned to the same core
#   --allow-run-as-root      containers and CI run as root; OpenMPI refuses otherwise
#   vader single-copy off    CMA (process_vm_readv) is blocked in containers; shared memory works
#   whole ASan stacks        under tools/sanitize.sh (below)
# Usage: tools/mpirun.sh -np 4 build/bin/tandem train ...
set -euo pipefail
flags=(--oversubscribe --bind-to none)
[ "$(id -u)" = 0 ] && flags+=(--allow-run-as-root)
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
# Under AddressSanitizer (tools/sanitize.sh), ranks record whole allocation stacks: OpenMPI unloads
# the plugins whose allocations it keeps, and only the frames below them (MPI_Init) say whose leak
# it is (tools/sanitizers/lsan.supp). Single processes unwind fast: whole stacks make every malloc
# about 40 times dearer (a `tandem calibrate` took 96 s instead of 2).
[ -n "${ASAN_OPTIONS:-}" ] && export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"
exec mpirun "${flags[@]}" "$@"
