#!/bin/sh
# The test programs under AddressSanitizer + UndefinedBehaviorSanitizer, in ./build-asan (CPU only).
# Usage: sh tests/sanitize.sh [all | test_io test_data ...]   (default: the readers' tests)
set -e
cd "$(dirname "$0")/.."
targets=${*:-test_core test_io test_text test_data test_image test_datasets}
generator=""; [ -f build-asan/CMakeCache.txt ] || ! command -v ninja >/dev/null || generator="-G Ninja"
cmake -S . -B build-asan $generator -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONTRA_SANITIZE=ON -DCONTRA_CUDA=OFF -DCONTRA_MPI=OFF >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
if [ "$targets" = all ]; then
  cmake --build build-asan -j "$(nproc 2>/dev/null || echo 2)"
  cd build-asan && exec ctest --output-on-failure -E "^(cuda|dist|compile_fail)"
fi
cmake --build build-asan -j "$(nproc 2>/dev/null || echo 2)" --target $targets
cd build-asan
regex=""
for t in $targets; do regex="$regex${regex:+|}^${t#test_}\$"; done
exec ctest --output-on-failure -R "$regex"
