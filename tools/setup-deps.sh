#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need.
# Idempotent: installs only what is missing, running `apt-get update` first when it must.
# Nothing is downloaded from anywhere but the Debian archive.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build clang libomp-dev  # libomp-dev: OpenMP for clang (tools/fuzz.sh)
  libopenblas-openmp-dev zlib1g-dev
  nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libhwloc-dev hwloc
  libopenmpi-dev openmpi-bin procps
  opencl-headers ocl-icd-opencl-dev opencl-clhpp-headers pocl-opencl-icd clinfo
  libxrt-dev uuid-dev
  dataset-fashion-mnist
  fortunes  # the byte-level text corpus of the encoder (tandem train --text /usr/share/games/fortunes)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup-deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
