#!/bin/sh
# A 2-rank run where one rank fails: killed, the job ends with a non-zero status and a message
# naming it; stalled, the other rank stops within its 5-s timeout naming it; either way the run
# resumes from the last checkpoint to the same parameters as a run that never failed.
# Usage: sh failure.sh MPIEXEC WORKER
set -u
mpiexec=$1 worker=$2
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
run() { "$mpiexec" -np 2 "$worker" "$@" 2>&1; }
fail() { echo "FAILED: $*"; exit 1; }

out=$(run straight "$dir/straight") || fail "the uninterrupted run failed: $out"
straight=$(echo "$out" | grep checksum)

out=$(run die "$dir/die"); status=$?
echo "$out" | tail -n 5
[ "$status" -ne 0 ] || fail "killing rank 1 left status 0"
echo "$out" | grep -q "rank 1" || fail "the failure does not name rank 1"

start=$(date +%s)
out=$(run stall "$dir/stall"); status=$?
took=$(( $(date +%s) - start ))
echo "$out" | grep "did not reach" | head -n 1
[ "$status" -ne 0 ] || fail "a stalled rank 1 left status 0"
echo "$out" | grep -q "rank 1 did not reach step" || fail "the timeout does not name rank 1: $out"
[ "$took" -lt 40 ] || fail "stopping took $took s (timeout 5 s)"

for case in die stall; do
  out=$(run resume "$dir/$case") || fail "resuming after '$case' failed: $out"
  resumed=$(echo "$out" | grep checksum)
  [ "$resumed" = "$straight" ] || fail "after '$case', resumed $resumed, uninterrupted $straight"
done
echo "passed: killed and stalled ranks are named, and both runs resume to the uninterrupted parameters ($straight)"
