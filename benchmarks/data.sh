#!/bin/sh
# The image–caption pipeline at 224 px, contra (bench_data: 0, 1, 2 decoding threads) beside
# Pillow + NumPy (benchmarks/peers/pil_preprocess.py, one process), on the RGB photos that ship
# with Debian's python3-skimage (fetched with apt-get download, unpacked in a temp folder).
# Usage: sh benchmarks/data.sh
set -e
cd "$(dirname "$0")/.."
sh cmake/install-deps.sh python3-pil python3-numpy
sh cmake/configure.sh -DCONTRA_BENCHMARKS=ON >/dev/null
cmake --build build --target bench_data -j "$(nproc 2>/dev/null || echo 2)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download python3-skimage >/dev/null 2>&1 && dpkg -x python3-skimage_*.deb x)
mkdir "$work/photos"
for f in astronaut.png chelsea.png coffee.png hubble_deep_field.jpg motorcycle_left.png rocket.jpg retina.jpg ihc.png; do
  cp "$work/x/usr/lib/python3/dist-packages/skimage/data/$f" "$work/photos/"
done
CONTRA_BENCH_PHOTOS="$work/photos" build/bin/bench_data
/usr/bin/python3 benchmarks/peers/pil_preprocess.py "$work/photos"
