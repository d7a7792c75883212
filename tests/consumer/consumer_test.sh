#!/usr/bin/env bash
# Tandem as its users get it: installed into a fresh prefix, then app/consumer.c built against
# the installed tree only (CMake package and pkg-config, shared and static) and run.
#   consumer_test.sh <step> [args]      (tests/consumer/CMakeLists.txt registers each step)
# Environment: TANDEM_BUILD (the build to install), WORK (scratch directory), LIBDIR (the
# installed lib/, relative to the prefix), CMAKE, CC, CMAKE_GENERATOR. Shared-library consumers find libtandem.so.1 through a RUNPATH to the
# prefix's lib/ (CMake's build-tree RUNPATH; -Wl,-rpath for cc), never LD_LIBRARY_PATH, which is
# cleared so that nothing from the build tree can stand in for the installed files.
set -euo pipefail
unset LD_LIBRARY_PATH
step=$1
shift
app=$(cd "$(dirname "$0")" && pwd)/app
prefix=$WORK/prefix
lib=$prefix/$LIBDIR
export PKG_CONFIG_PATH=$lib/pkgconfig

fail() { echo "FAIL: $*" >&2; exit 1; }
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
# The binary runs, and takes libtandem.so.1 from the prefix (shared) or nowhere (static).
run() {
  local exe=$1 kind=$2 model=$3
  if [ "$kind" = shared ]; then
    loaded=$(ldd "$exe" | sed -n 's/.*libtandem.so.1 => \(.*\) (0x.*/\1/p')
    if [ -z "$loaded" ] || [ "$(realpath "$loaded")" != "$(realpath "$lib/libtandem.so.1")" ]; then
      fail "$exe does not load the installed libtandem.so.1: $(ldd "$exe" | grep tandem || true)"
    fi
  elif needed "$exe" | grep -q libtandem; then
    fail "$exe, linked statically, needs $(needed "$exe" | grep libtandem)"
  fi
  "$exe" "$model"
}

case $step in
install)  # a fresh prefix with exactly the public files
  rm -rf "$prefix"
  "$CMAKE" --install "$TANDEM_BUILD" --prefix "$prefix"
  (cd "$prefix" && find . -type f -o -type l | sort)
  headers=$(cd "$prefix/include" && find . -type f)
  [ "$headers" = ./tandem/tandem.h ] || fail "installed headers: $headers (want only tandem/tandem.h)"
  for f in libtandem.so libtandem.so.1 libtandem.so.0.1.0 libtandem.a pkgconfig/tandem.pc \
           cmake/Tandem/TandemConfig.cmake cmake/Tandem/TandemConfigVersion.cmake cmake/Tandem/TandemTargets.cmake; do
    [ -e "$lib/$f" ] || fail "$lib/$f not installed"
  done ;;
cmake-build)  # configure and build app/ against the package; $1: the components to require, a,b,c
  rm -rf "$WORK/cmake"
  "$CMAKE" -S "$app" -B "$WORK/cmake" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
           -DTANDEM_COMPONENTS="${1//,/;}"
  "$CMAKE" --build "$WORK/cmake" ;;
cmake-run)  # $1: shared or static, $2: the model
  run "$WORK/cmake/consumer_$1" "$1" "$2" ;;
pkg-config)  # build with cc and pkg-config, and run; $1: shared or static, $2: the model
  # GNU ld takes libtandem.so over libtandem.a for -ltandem: the static build names the archive.
  flags=(-std=c11 -Wall -Wextra -Wpedantic -Werror)
  if [ "$1" = shared ]; then
    libs="$(pkg-config --libs tandem) -Wl,-rpath,$(pkg-config --variable=libdir tandem)"
  else
    libs=$(pkg-config --static --libs --define-variable=libname=:libtandem.a tandem)
  fi
  echo "cc $(pkg-config --cflags tandem) $libs"
  # shellcheck disable=SC2046,SC2086  # pkg-config's output is a list of words
  "$CC" "${flags[@]}" $(pkg-config --cflags tandem) "$app/consumer.c" -o "$WORK/pc-$1" $libs
  run "$WORK/pc-$1" "$1" "$2" ;;
soname)  # the library's SONAME and links carry the ABI; the consumer records the SONAME
  soname=$(readelf -d "$lib/libtandem.so.0.1.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [ "$soname" = libtandem.so.1 ] || fail "SONAME $soname (want libtandem.so.1)"
  [ "$(readlink "$lib/libtandem.so.1")" = libtandem.so.0.1.0 ] || fail "libtandem.so.1 -> $(readlink "$lib/libtandem.so.1")"
  [ "$(readlink "$lib/libtandem.so")" = libtandem.so.1 ] || fail "libtandem.so -> $(readlink "$lib/libtandem.so")"
  needed "$WORK/cmake/consumer_shared" | grep -qx libtandem.so.1 ||
    fail "consumer_shared needs $(needed "$WORK/cmake/consumer_shared" | tr '\n' ' ')"
  echo "SONAME $soname; consumer_shared needs $soname" ;;
missing-component)  # find_package(Tandem COMPONENTS $1) must fail, naming $1
  rm -rf "$WORK/missing-$1"
  if out=$("$CMAKE" -S "$app" -B "$WORK/missing-$1" -DCMAKE_PREFIX_PATH="$prefix" -DTANDEM_COMPONENTS="cpu;$1" 2>&1); then
    fail "find_package(Tandem COMPONENTS cpu $1) succeeded"
  fi
  echo "$out"
  tr -s ' \n' ' ' <<<"$out" | grep -q "lacks the component(s) $1 (" || fail "the message does not name $1" ;;
*) fail "unknown step $step" ;;
esac
