#!/bin/sh
# The test command: installs missing Debian packages, configures, builds, runs every test.
set -e
cd "$(dirname "$0")/.."
sh cmake/install-deps.sh dataset-fashion-mnist  # the end-to-end test trains on it
sh tests/search/fetch_photos.sh  # sample photos for the tests of contra index and search
sh cmake/build.sh
cd build && ctest --output-on-failure -j2  # the test programs one at a time (RUN_SERIAL: each uses every core)
