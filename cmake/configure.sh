#!/bin/sh
# Configures ./build (Release, Ninja when the folder is new). Extra arguments go to cmake.
set -e
cd "$(dirname "$0")/.."
generator=""
if [ ! -f build/CMakeCache.txt ] && command -v ninja >/dev/null 2>&1; then generator="-G Ninja"; fi
cmake -S . -B build $generator -DCMAKE_BUILD_TYPE=Release "$@"
