#!/bin/sh
# The device check in one call, on a machine with an NVIDIA GPU: the CUDA tests, compute-sanitizer
# memcheck and racecheck on a small subset, the NCCL test when there are two GPUs or more, the
# `contra train --device cuda` test against the CPU, contra's ViT-B/32 training step (batch 64
# and 256; fp32, TF32 and bf16) and image embedding (batch 1024), the main job on the GPU
# (Fashion-MNIST, 60 s of training, bf16 by default), then the PyTorch GPU peer in the same call (strict fp32, TF32,
# bf16 eager, bf16 torch.compile). Logs go to $OUT (default ./gpu-out); a short table comes last.
# Usage: sh benchmarks/gpu/run.sh                 builds here (needs contra's Debian packages)
#        BIN=gpu-bin sh benchmarks/gpu/run.sh     takes what benchmarks/gpu/prepare.sh gathered in
#                                                 gpu-bin/, as on a GPU machine without them
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
export OUT
status() { if [ "$1" -eq 0 ]; then echo pass; elif [ "$1" -eq 77 ]; then echo skipped; else echo "FAIL ($1)"; fi; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1
build=0
FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}
if [ -z "${BIN:-}" ]; then
  BIN=build-gpu/bin
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONTRA_CUDA=ON -DCONTRA_NATIVE=OFF > "$OUT/configure.log" 2>&1
  cmake --build build-gpu -j "$(nproc)" --target test_cuda test_cli contra_cli > "$OUT/build.log" 2>&1
  build=$?
  cmake --build build-gpu -j "$(nproc)" --target test_dist_nccl >> "$OUT/build.log" 2>&1
elif [ -d "$BIN/fashion-mnist" ]; then
  FMNIST=$BIN/fashion-mnist
fi
BIN=$(cd "$BIN" && pwd)
for packed in "$BIN"/*.gz; do  # prepare.sh's programs travel gzipped
  [ -e "$packed" ] && gunzip -kf "$packed" && chmod +x "${packed%.gz}"
done
export LD_LIBRARY_PATH="$BIN/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
ldd "$BIN/contra" | grep "not found" > "$OUT/missing_libraries.txt"

"$BIN/test_cuda" > "$OUT/test_cuda.log" 2>&1; tests=$?
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
timeout 120 "$sanitizer" --tool memcheck --error-exitcode 1 "$BIN/test_cuda" -tc="*softmax*,*layer norm*,*add_layer_norm*,*attention*,*adamw_group*,*gate_step*,*CLIP loss*,*staged*" \
  > "$OUT/memcheck.log" 2>&1; memcheck=$?
timeout 120 "$sanitizer" --tool racecheck --error-exitcode 1 "$BIN/test_cuda" -tc="*reduce*,*sum*,*softmax*,*short-sequence*,*CLIP loss*" \
  > "$OUT/racecheck.log" 2>&1; racecheck=$?
gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
nccl=77
if [ "$gpus" -ge 2 ] && [ -x "$BIN/test_dist_nccl" ]; then
  mpirun --allow-run-as-root -np 2 "$BIN/test_dist_nccl" > "$OUT/nccl.log" 2>&1; nccl=$?
fi
timeout 120 "$BIN/test_cli" -tc="*--device cuda*" > "$OUT/train_cuda_test.log" 2>&1; train_test=$?
grep -q "SKIPPED" "$OUT/train_cuda_test.log" && train_test=77

: > "$OUT/contra_gpu.jsonl"
for run in "train --config vitb32 --batch 64 --precision fp32" "train --config vitb32 --batch 256 --precision fp32" \
           "train --config vitb32 --batch 256 --precision tf32" "train --config vitb32 --batch 256 --precision bf16" \
           "embed --batch 1024 --precision fp32" "embed --batch 1024 --precision tf32" "embed --batch 1024 --precision bf16"; do
  # shellcheck disable=SC2086
  timeout 120 "$BIN/contra" bench $run --device cuda --steps 10 >> "$OUT/contra_gpu.jsonl" 2>> "$OUT/contra_gpu.err" ||
    echo "{\"failed\": \"$run\"}" >> "$OUT/contra_gpu.jsonl"
done
# The same bf16 step with the linear layers' bias broadcast and added by a separate GEMM pass
# (CONTRA_CUBLASLT=off): what the cuBLASLt epilogue saves.
CONTRA_CUBLASLT=off timeout 120 "$BIN/contra" bench train --config vitb32 --batch 256 --precision bf16 --device cuda \
  --steps 10 2>> "$OUT/contra_gpu.err" | sed 's/^{/{"cublaslt": "off", /' >> "$OUT/contra_gpu.jsonl"
# The main job on the GPU: 60 s of training, then the evaluation.
start=$(date +%s)
timeout 300 "$BIN/contra" train --dataset fashion-mnist --data "$FMNIST" --device cuda --time-budget 60 \
  --out "$OUT/fashion-mnist-gpu" > "$OUT/main_job.log" 2>&1; main_job=$?
echo "$(( $(date +%s) - start ))" > "$OUT/main_job_seconds.txt"
timeout 300 python3 benchmarks/peers/torch_clip_gpu.py > "$OUT/torch_peer.log" 2>&1; peer=$?

echo "GPU: $(tail -n 1 "$OUT/gpu.txt")"
[ -s "$OUT/missing_libraries.txt" ] && echo "contra lacks: $(tr -s ' \t\n' ' ' < "$OUT/missing_libraries.txt")"
echo "| check | result |"
echo "|---|---|"
echo "| build | $(status $build) |"
echo "| CUDA tests (test_cuda) | $(status $tests): $(grep -E 'test cases:' "$OUT/test_cuda.log" | tail -n 1) |"
echo "| compute-sanitizer memcheck (softmax, layer norm, attention, AdamW, CLIP loss, staged copies) | $(status $memcheck) |"
echo "| compute-sanitizer racecheck (reduce, softmax, short-sequence attention, CLIP loss) | $(status $racecheck) |"
echo "| NCCL collectives, 2 ranks | $(status $nccl) |"
echo "| contra train, embed, grad, zeroshot, index, eval --device cuda against the CPU (test_cli) | $(status $train_test) |"
echo "| main job, --device cuda --time-budget 60 (bf16) | $(status $main_job): $(cat "$OUT/main_job_seconds.txt") s in all; $(grep -E '^zero-shot top-1' "$OUT/main_job.log" | tail -n 1) |"
echo "| PyTorch peer (torch_clip_gpu.py) | $(status $peer); results in $OUT/gpu_anchor.json |"
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
ceiling = {"fp32": 50.0, "tf32": 419.0, "bf16": 753.0}  # GEMM TFLOP/s measured on the H200 (../shared/gpu/README.md)
bf16_ceiling = ceiling["bf16"]
print("\n| ViT-B/32 | precision | batch | ms | pairs or images/s | TFLOP/s | share of the bf16 GEMM ceiling | peak GiB |")
print("|---|---|---|---|---|---|---|---|")
for line in open(f"{out}/contra_gpu.jsonl"):
    r = json.loads(line)
    if "failed" in r:
        print(f"| contra {r['failed']} | failed (see contra_gpu.err) | | | | | | |")
        continue
    peak = f"{r['peak_gpu_tensor_mb'] / 1024:.1f} (device {r['gpu_used_mb'] / 1024:.1f})"
    if "ms_per_step" in r:
        tflops = r["gflop_per_s"] / 1e3
        label = "contra step" + (" (no cuBLASLt epilogue)" if r.get("cublaslt") == "off" else "")
        print(f"| {label} | {r['precision']} | {r['batch']} | {r['ms_per_step']:.1f} | {r['samples_per_s']:.0f} | "
              f"{tflops:.1f} | {tflops / bf16_ceiling:.1%} | {peak} |")
    else:
        tflops = r["image_gflop_per_s"] / 1e3
        print(f"| contra embed | {r['precision']} | {r['batch']} | {1e3 * r['batch'] / r['image_per_s']:.1f} | "
              f"{r['image_per_s']:.0f} | {tflops:.1f} | {tflops / bf16_ceiling:.1%} | {peak} |")
try:
    peer = json.load(open(f"{out}/gpu_anchor.json"))
except Exception as e:
    peer = {}
    print(f"| PyTorch | no results ({e}) | | | | | | |")
for name, r in peer.items():
    if isinstance(r, dict):
        label = "PyTorch step" + (" compiled" if r.get("compiled") else "")
        print(f"| {label} | {r['dtype']} | {r['batch']} | {r['ms_per_step']:.1f} | {r['samples_per_s']:.0f} | "
              f"{r['tflops']:.1f} | {r['tflops'] / bf16_ceiling:.1%} | {r['peak_mem_GiB']:.1f} |")
    elif name.endswith("img_per_s"):
        print(f"| PyTorch embed | bf16 | 1024 | | {r:.0f} | | | |")
PY
