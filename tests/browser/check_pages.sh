#!/bin/sh
# Checks HTML pages in a real browser, headless Chromium (check_pages.py): every <img> loaded, the
# browser printed no console message for the page, and its screenshot is not blank.
# Usage: sh tests/browser/check_pages.sh PAGE.html [PAGE.html ...]
#        sh tests/browser/check_pages.sh --ready    (only make sure the browser is there)
# Without chromium or python3: as root it installs Debian's packages; otherwise it says what to
# install and exits with 77 (ctest: skipped).
set -e
here=$(dirname "$0")
if [ $# -lt 1 ]; then
  echo "usage: sh tests/browser/check_pages.sh PAGE.html [PAGE.html ...] | --ready" >&2
  exit 2
fi
# need COMMAND PACKAGE: Debian's PACKAGE when COMMAND is missing (as root), else skip (77).
need() {
  command -v "$1" >/dev/null && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "SKIPPED: the page checks need $1: sudo apt-get install -y $2" >&2
    exit 77
  fi
  echo "installing Debian's $2 for the page checks"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "$2" >/dev/null ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "$2" >/dev/null; }
}
need python3 python3
need chromium chromium
[ "$1" = --ready ] && exit 0
exec python3 "$here/check_pages.py" "$(command -v chromium)" "$@"
