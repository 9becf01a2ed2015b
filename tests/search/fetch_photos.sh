#!/bin/sh
# Puts a few of the sample photos Debian's python3-skimage ships (scikit-image's data folder:
# astronaut, chelsea the cat, coffee, rocket, ...) into a folder, for the photo tests of contra
# index and contra search (tests/cli/index_search.cpp). Nothing is installed: the package is
# downloaded with `apt-get download` and unpacked with `dpkg-deb -x` in a temporary folder.
# Usage: sh tests/search/fetch_photos.sh [FOLDER]   (default: build/test-data/skimage, where the tests look)
# Without apt, network or a writable folder it says why and exits 0: the tests then say they skip.
set -e
cd "$(dirname "$0")/../.."
dest=${1:-build/test-data/skimage}
photos="astronaut.png chelsea.png coffee.png rocket.jpg motorcycle_left.png hubble_deep_field.jpg retina.jpg moon.png truncated.jpg"
missing=""
for p in $photos; do [ -f "$dest/$p" ] || missing="$missing $p"; done
[ -z "$missing" ] && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && apt-get download -q python3-skimage >/dev/null 2>&1) ||
   ! dpkg-deb -x "$work"/python3-skimage_*.deb "$work/x"; then
  echo "fetch_photos: could not download python3-skimage with apt-get; the photo tests will skip" >&2
  exit 0
fi
for p in $photos; do
  if ! { mkdir -p "$dest" && cp "$work"/x/usr/lib/python3/dist-packages/skimage/data/"$p" "$dest/"; } 2>/dev/null; then
    echo "fetch_photos: could not copy $p into $dest; the photo tests will skip" >&2
    exit 0
  fi
done
echo "fetch_photos: copied $(echo $photos | wc -w) photos to $dest"
