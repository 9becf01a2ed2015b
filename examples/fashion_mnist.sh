#!/bin/sh
# The main job: install what is missing, build the `contra` program, train a CLIP from scratch on
# Fashion-MNIST (image, caption) pairs, and report its zero-shot accuracy on the 10,000 test images.
# Extra arguments go to `contra train` (see build/bin/contra train --help).
set -e
cd "$(dirname "$0")/.."
sh cmake/install-deps.sh dataset-fashion-mnist
sh cmake/configure.sh >/dev/null
cmake --build build --target contra_cli -j "$(nproc 2>/dev/null || echo 2)"
exec build/bin/contra train --dataset fashion-mnist "$@"
