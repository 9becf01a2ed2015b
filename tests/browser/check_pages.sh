#!/bin/sh
# Checks HTML pages in a real browser, headless Chromium (check_pages.py): every <img> loaded, the
# browser printed no console message for the page, and its screenshot is not blank.
# Usage: sh tests/browser/check_pages.sh PAGE.html [PAGE.html ...]
#        sh tests/browser/check_pages.sh --ready    (only make sure the browser is there)
# Without chromium: as root it installs Debian's package; otherwise it says what to install and
# exits with 77 (ctest: skipped).
set -e
here=$(dirname "$0")
if [ $# -lt 1 ]; then
  echo "usage: sh tests/browser/check_pages.sh PAGE.html [PAGE.html ...] | --ready" >&2
  exit 2
fi
if ! command -v python3 >/dev/null; then
  echo "SKIPPED: the page checks need python3 (Debian: apt-get install -y python3)" >&2
  exit 77
fi
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "SKIPPED: the page checks need a headless browser: sudo apt-get install -y chromium" >&2
    exit 77
  fi
  echo "installing Debian's chromium for the page checks"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends chromium >/dev/null ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium >/dev/null; }
fi
[ "$1" = --ready ] && exit 0
exec python3 "$here/check_pages.py" "$(command -v chromium)" "$@"
