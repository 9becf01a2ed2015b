#!/bin/sh
# The device check in one call, on a machine with an NVIDIA GPU: the CUDA tests, compute-sanitizer
# memcheck and racecheck on a small subset, the NCCL test when there are two GPUs or more, contra's
# ViT-B/32 training step (batch 64 and 256) and image embedding (batch 1024), then the PyTorch GPU
# peer in the same call (strict fp32, TF32, bf16 eager, bf16 torch.compile). Logs go to $OUT
# (default ./gpu-out); a short table is printed last.
# Usage: sh benchmarks/gpu/run.sh                 builds here (needs contra's Debian packages)
#        BIN=gpu-bin sh benchmarks/gpu/run.sh     takes test_cuda and bench_gpu_step built elsewhere
#                                                 (-DCONTRA_CUDA=ON -DCONTRA_NATIVE=OFF), as on a
#                                                 GPU machine without Eigen
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
export OUT
export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
status() { if [ "$1" -eq 0 ]; then echo pass; elif [ "$1" -eq 77 ]; then echo skipped; else echo "FAIL ($1)"; fi; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1
build=0
if [ -z "${BIN:-}" ]; then
  BIN=build-gpu/bin
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONTRA_CUDA=ON -DCONTRA_NATIVE=OFF > "$OUT/configure.log" 2>&1
  cmake --build build-gpu -j "$(nproc)" --target test_cuda bench_gpu_step > "$OUT/build.log" 2>&1
  build=$?
  cmake --build build-gpu -j "$(nproc)" --target test_dist_nccl >> "$OUT/build.log" 2>&1
fi

"$BIN/test_cuda" > "$OUT/test_cuda.log" 2>&1; tests=$?
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
timeout 120 "$sanitizer" --tool memcheck --error-exitcode 1 "$BIN/test_cuda" -tc="*softmax*,*layer norm*,*attention*" \
  > "$OUT/memcheck.log" 2>&1; memcheck=$?
timeout 120 "$sanitizer" --tool racecheck --error-exitcode 1 "$BIN/test_cuda" -tc="*reduce*,*sum*,*softmax*" \
  > "$OUT/racecheck.log" 2>&1; racecheck=$?
gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
nccl=77
if [ "$gpus" -ge 2 ] && [ -x "$BIN/test_dist_nccl" ]; then
  mpirun --allow-run-as-root -np 2 "$BIN/test_dist_nccl" > "$OUT/nccl.log" 2>&1; nccl=$?
fi
: > "$OUT/contra_gpu.jsonl"
for run in "step --batch 64" "step --batch 256" "embed --batch 1024"; do
  # shellcheck disable=SC2086
  timeout 120 "$BIN/bench_gpu_step" $run >> "$OUT/contra_gpu.jsonl" 2>> "$OUT/contra_gpu.err" ||
    echo "{\"failed\": \"$run\"}" >> "$OUT/contra_gpu.jsonl"
done
timeout 300 python3 benchmarks/peers/torch_clip_gpu.py > "$OUT/torch_peer.log" 2>&1; peer=$?

echo "GPU: $(tail -n 1 "$OUT/gpu.txt")"
echo "| check | result |"
echo "|---|---|"
echo "| build | $(status $build) |"
echo "| CUDA tests (test_cuda) | $(status $tests): $(grep -E 'test cases:' "$OUT/test_cuda.log" | tail -n 1) |"
echo "| compute-sanitizer memcheck (softmax, layer norm, attention) | $(status $memcheck) |"
echo "| compute-sanitizer racecheck (reduce, softmax) | $(status $racecheck) |"
echo "| NCCL collectives, 2 ranks | $(status $nccl) |"
echo "| PyTorch peer (torch_clip_gpu.py) | $(status $peer); results in $OUT/gpu_anchor.json |"
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
print("\n| ViT-B/32 | precision | batch | ms | pairs or images/s | TFLOP/s | peak GiB |")
print("|---|---|---|---|---|---|---|")
for line in open(f"{out}/contra_gpu.jsonl"):
    r = json.loads(line)
    if "failed" in r:
        print(f"| contra {r['failed']} | failed (see contra_gpu.err) | | | | | |")
        continue
    print(f"| contra {r['what']} | {r['precision']} | {r['batch']} | {r['ms']:.1f} | {r['per_s']:.0f} | "
          f"{r['tflop_per_s']:.1f} | {r['peak_tensor_gib']:.1f} (device {r['device_used_gib']:.1f}) |")
print("| contra step | bf16 | 256 | not implemented yet | | | |")
try:
    peer = json.load(open(f"{out}/gpu_anchor.json"))
except Exception as e:
    peer = {}
    print(f"| PyTorch | no results ({e}) | | | | | |")
for name, r in peer.items():
    if isinstance(r, dict):
        label = "PyTorch step" + (" compiled" if r.get("compiled") else "")
        print(f"| {label} | {r['dtype']} | {r['batch']} | {r['ms_per_step']:.1f} | {r['samples_per_s']:.0f} | "
              f"{r['tflops']:.1f} | {r['peak_mem_GiB']:.1f} |")
    elif name.endswith("img_per_s"):
        print(f"| PyTorch embed | bf16 | 1024 | | {r:.0f} | | |")
PY
