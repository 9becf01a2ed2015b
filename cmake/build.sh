#!/bin/sh
# Configures and builds contra in ./build (Release). Extra arguments go to cmake's configure step.
set -e
cd "$(dirname "$0")/.."
sh cmake/configure.sh "$@"
cmake --build build -j "$(nproc 2>/dev/null || echo 2)"
