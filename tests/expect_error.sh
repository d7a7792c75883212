#!/bin/sh
# Runs a command that must fail with an error exit (1..127): not succeed, and not die of a signal.
"$@"
rc=$?
echo "exit status $rc"
[ "$rc" -gt 0 ] && [ "$rc" -lt 128 ]
