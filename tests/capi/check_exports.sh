#!/usr/bin/env bash
# The shared library's exported functions are exactly those declared in tandem.h, versioned
# TANDEM_<ABI>, and its SONAME carries the ABI version.
#   check_exports.sh libtandem.so tandem.h
set -euo pipefail
lib=$1 header=$2
abi=$(sed -n 's/^#define TANDEM_ABI_VERSION \([0-9]*\)/\1/p' "$header")
declared=$(grep -E '^TANDEM_API ' "$header" | grep -o 'TANDEM_API [^(]*(' | sed -E 's/.*[ *](tandem_[a-z_]+)\($/\1/' | sort)
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort)
versions=$(nm -D --defined-only "$lib" | awk '$2 == "T" {print $3}' | sed 's/.*@@*//' | sort -u)
soname=$(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
status=0
if [ "$declared" != "$exported" ]; then
  echo "exported functions differ from tandem.h:"; diff <(echo "$declared") <(echo "$exported") || true; status=1
fi
[ "$versions" = "TANDEM_$abi" ] || { echo "symbol versions: $versions (want TANDEM_$abi)"; status=1; }
[ "$soname" = "libtandem.so.$abi" ] || { echo "SONAME $soname (want libtandem.so.$abi)"; status=1; }
[ $status = 0 ] && echo "$(echo "$exported" | wc -l) functions, all declared in tandem.h, version TANDEM_$abi, SONAME $soname"
exit $status
