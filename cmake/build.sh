#!/bin/sh
# Configures and builds contra in ./build (Release). Extra arguments go to cmake's configure step.
set -e
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j "$jobs"
