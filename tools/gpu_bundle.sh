#!/usr/bin/env bash
# Packs a CUDA build made on this Debian machine for a bare GPU machine: one that has the CUDA
# toolkit (cuBLAS, cuDNN, NCCL) but none of the Debian libraries Tandem links (OpenBLAS, hwloc, XRT,
# the OpenCL loader, OpenMPI and its launcher) and no Fashion-MNIST. The bundle is one compressed
# file, so that it fits a size-limited transfer:
#   tools/gpu_bundle.sh [build-dir] [bundle]          (defaults: build-cuda, .gpu/bundle.tar.xz)
# On the GPU machine:
#   mkdir -p /opt/tandem && tar xJf bundle.tar.xz -C /opt/tandem && . /opt/tandem/env.sh
#   tools/gpu_check.sh                                  (env.sh points it at the bundled build and data)
# CUDA's own libraries are left out on purpose: they must be the GPU machine's, matching its driver.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-cuda}
bundle=${2:-.gpu/bundle.tar.xz}
[ -x "$build/bin/tandem" ] || { echo "gpu_bundle: no $build/bin/tandem (build with CUDA first)" >&2; exit 1; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# The programs gpu_check.sh runs.
mkdir -p "$stage/build/bin" "$stage/build/tests" "$stage/build/bench" "$stage/lib"
cp "$build/bin/tandem" "$stage/build/bin/"
for t in test_backend_ops test_gradients test_compression; do cp "$build/tests/$t" "$stage/build/tests/"; done
cp "$(find "$build" -name test_cuda -type f | head -1)" "$stage/build/tests/"
cp "$build/bench/bench_cuda" "$stage/build/bench/"

# OpenMPI, laid out under a prefix of its own (OPAL_PREFIX relocates it: Debian's libdir is
# ${prefix}-relative). PMIx's two plugins and help texts come along; its core is linked into the launcher.
ompi=/usr/lib/x86_64-linux-gnu/openmpi
mkdir -p "$stage/mpi/usr/bin" "$stage/mpi$ompi/lib" "$stage/mpi/usr/lib/x86_64-linux-gnu/pmix2/lib" "$stage/mpi/usr/share"
cp "$(readlink -f /usr/bin/orterun)" "$stage/mpi/usr/bin/orterun"
cp "$(readlink -f /usr/bin/orted)" "$stage/mpi/usr/bin/orted"
ln -s orterun "$stage/mpi/usr/bin/mpirun"
cp -r "$ompi/lib/openmpi3" "$stage/mpi$ompi/lib/"
cp -r /usr/lib/x86_64-linux-gnu/pmix2/lib/pmix "$stage/mpi/usr/lib/x86_64-linux-gnu/pmix2/lib/"
cp -r /usr/lib/x86_64-linux-gnu/pmix2/share "$stage/mpi/usr/lib/x86_64-linux-gnu/pmix2/"
cp -r /usr/share/openmpi "$stage/mpi/usr/share/"
[ -d /usr/share/pmix ] && cp -r /usr/share/pmix "$stage/mpi/usr/share/"

# Every shared library those need, except the C library's own and CUDA's.
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|librt\.so|libpthread\.so|libstdc\+\+|libgcc_s|libcuda|libcublas|libcudnn|libcudart|libnccl|libnvidia)'
find "$stage/build" "$stage/mpi" -type f \( -perm -u+x -o -name '*.so' \) -print0 |
  xargs -0 ldd 2>/dev/null | awk '/=> \//{print $1, $3}' | sort -u | while read -r name path; do
    [[ $name =~ $skip ]] || cp -nL "$path" "$stage/lib/$name"
  done
strip --strip-unneeded "$stage"/build/*/* "$stage"/lib/* 2>/dev/null || true

mkdir -p "$stage/data/fashion-mnist"
cp /usr/share/datasets/fashion-mnist/*.gz "$stage/data/fashion-mnist/"

cat > "$stage/env.sh" <<'EOF'
# Sourced on the GPU machine after unpacking the bundle.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cuda_libs=$(for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib \
  $(find / -xdev -path '*/nvidia/*/lib' -type d 2>/dev/null); do [ -d "$d" ] && printf '%s:' "$d"; done)
export LD_LIBRARY_PATH="$here/lib:${cuda_libs}${LD_LIBRARY_PATH:-}"
export OPAL_PREFIX="$here/mpi/usr"
export PMIX_MCA_mca_base_component_path="$here/mpi/usr/lib/x86_64-linux-gnu/pmix2/lib/pmix"
export PATH="$here/mpi/usr/bin:$PATH"
export TANDEM_GPU_BUILD="$here/build" TANDEM_DATA="$here/data/fashion-mnist"
EOF

mkdir -p "$(dirname "$bundle")"
tar -C "$stage" -cJf "$bundle" .
echo "gpu_bundle: $bundle ($(du -h "$bundle" | cut -f1); $(du -sh "$stage" | cut -f1) unpacked)"
