#!/bin/sh
# contra bench train|embed --device cuda prints the CPU's JSON keys and the GPU's own (its name,
# its peak memory), with "device":"cuda"; without a GPU it is one clear error, and the test is
# skipped (77), saying so.
#   sh tests/cli/bench_device.sh build/bin/contra
set -u
contra=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
keys() { grep -o '"[a-z_0-9]*":' "$1" | sort -u; }
status=0
for what in "train --config tiny --batch 4" "embed --batch 2"; do
  # shellcheck disable=SC2086
  "$contra" bench $what --steps 1 > "$work/cpu.json" || { echo "FAILED: contra bench $what on the CPU"; exit 1; }
  # shellcheck disable=SC2086
  if ! "$contra" bench $what --steps 1 --device cuda > "$work/cuda.json" 2> "$work/cuda.err"; then
    if grep -q "use --device cpu" "$work/cuda.err"; then
      echo "SKIPPED: contra bench $what --device cuda: $(cat "$work/cuda.err")"
      exit 77
    fi
    echo "FAILED: contra bench $what --device cuda:"; cat "$work/cuda.err"; exit 1
  fi
  cat "$work/cuda.json"
  keys "$work/cpu.json" > "$work/cpu.keys"
  keys "$work/cuda.json" > "$work/cuda.keys"
  missing=$(comm -23 "$work/cpu.keys" "$work/cuda.keys")
  [ -z "$missing" ] || { echo "FAILED: contra bench $what --device cuda lacks $missing"; status=1; }
  grep -q '"device":"cuda"' "$work/cuda.json" || { echo "FAILED: no \"device\":\"cuda\""; status=1; }
  grep -q '"peak_gpu_tensor_mb":' "$work/cuda.json" || { echo "FAILED: no peak GPU memory"; status=1; }
done
exit $status
