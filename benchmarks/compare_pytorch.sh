#!/bin/sh
# contra against PyTorch on this machine's CPU, side by side: builds `contra`, then runs its
# training-step and embedding benchmarks and the PyTorch peers alternately on the same threads,
# and prints a table (ms per step, ratio, peak memory). Needs Debian's python3-torch and
# libopenblas0-pthread (installed when missing and run as root).
# Usage: sh benchmarks/compare_pytorch.sh [--threads 2] [--rounds 3] [--steps 5] [tiny fmnist vitb32]
set -e
cd "$(dirname "$0")/.."
sh cmake/install-deps.sh python3-torch libopenblas0-pthread
sh cmake/configure.sh >/dev/null
cmake --build build --target contra_cli -j "$(nproc 2>/dev/null || echo 2)"
exec /usr/bin/python3 benchmarks/compare_pytorch.py "$@"
