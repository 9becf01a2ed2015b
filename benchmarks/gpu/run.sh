#!/bin/sh
# The device check in one call, on a machine with an NVIDIA GPU (sm_90: H100/H200): configure and
# build for sm_90, run the CUDA tests, compute-sanitizer memcheck and racecheck on a small subset,
# the NCCL test when there are two GPUs or more, then the PyTorch GPU peer in the same call.
# Logs go to $OUT (default ./gpu-out); a short table is printed last.
# Usage: sh benchmarks/gpu/run.sh
# Not yet here: contra's own ViT-B/32 bf16 training-step benchmark on the GPU (the table says so).
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
export OUT
status() { if [ "$1" -eq 0 ]; then echo pass; elif [ "$1" -eq 77 ]; then echo skipped; else echo "FAIL ($1)"; fi; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DCONTRA_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 > "$OUT/configure.log" 2>&1
cmake --build build-gpu -j "$(nproc)" --target test_cuda > "$OUT/build.log" 2>&1
build=$?
cmake --build build-gpu -j "$(nproc)" --target test_dist_nccl >> "$OUT/build.log" 2>&1

./build-gpu/bin/test_cuda > "$OUT/test_cuda.log" 2>&1; tests=$?
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
"$sanitizer" --tool memcheck --error-exitcode 1 ./build-gpu/bin/test_cuda -tc="*softmax*,*layer norm*,*attention*" \
  > "$OUT/memcheck.log" 2>&1; memcheck=$?
"$sanitizer" --tool racecheck --error-exitcode 1 ./build-gpu/bin/test_cuda -tc="*reduce*,*sum*,*softmax*" \
  > "$OUT/racecheck.log" 2>&1; racecheck=$?
gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
nccl=77
if [ "$gpus" -ge 2 ] && [ -x build-gpu/bin/test_dist_nccl ]; then
  mpirun --allow-run-as-root -np 2 ./build-gpu/bin/test_dist_nccl > "$OUT/nccl.log" 2>&1; nccl=$?
fi
timeout 300 python3 benchmarks/peers/torch_clip_gpu.py > "$OUT/torch_peer.log" 2>&1; peer=$?

echo "GPU: $(tail -n 1 "$OUT/gpu.txt")"
echo "| check | result |"
echo "|---|---|"
echo "| build for sm_90 | $(status $build) |"
echo "| CUDA tests (test_cuda) | $(status $tests): $(grep -E 'test cases:' "$OUT/test_cuda.log" | tail -n 1) |"
echo "| compute-sanitizer memcheck (softmax, layer norm, attention) | $(status $memcheck) |"
echo "| compute-sanitizer racecheck (reduce, softmax) | $(status $racecheck) |"
echo "| NCCL collectives, 2 ranks | $(status $nccl) |"
echo "| PyTorch peer (torch_clip_gpu.py) | $(status $peer); results in $OUT |"
echo "| contra ViT-B/32 bf16 training step | not written yet |"
