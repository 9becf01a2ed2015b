#!/bin/sh
# Installs the Debian packages contra needs that are missing. Usage: sh cmake/install-deps.sh [extra packages...]
# As root it runs apt-get; otherwise it prints the exact apt-get line and exits with status 1.
set -e
packages="build-essential cmake ninja-build libeigen3-dev doctest-dev libbenchmark-dev nlohmann-json3-dev zlib1g-dev \
libutf8proc-dev libcli11-dev libstb-dev libturbojpeg0-dev libarchive-dev libopenmpi-dev openmpi-bin $*"
missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "contra needs these Debian packages. Install them, then run this command again:" >&2
  echo "  sudo apt-get install -y$missing" >&2
  exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
