#!/bin/sh
# The ctest test browser_report: two short contra train runs on the shapes, their report.html,
# a contra compare page of both and a contra search page, checked in a real browser (check_pages.sh).
# Usage: sh tests/browser/report_pages.sh CONTRA_PROGRAM WORK_FOLDER
set -e
contra=$1
work=$2
here=$(dirname "$0")
sh "$here/check_pages.sh" --ready  # 77 (skipped) without a browser
rm -rf "$work"
mkdir -p "$work"
for lr in 0.002 0.001; do
  "$contra" train --dataset shapes --steps 3 --train-subset 32 --batch 8 --lr $lr --eval-subset 24 --no-probe \
    --eval-points 1 --threads 2 --out "$work/lr-$lr" >"$work/train-$lr.log" 2>&1 ||
    { cat "$work/train-$lr.log"; exit 1; }
done
"$contra" compare "$work/lr-0.002" "$work/lr-0.001" --out "$work/compare.html"

# A contra search page: three generated pictures indexed with the first run's model.
mkdir -p "$work/pictures"
python3 - "$work/pictures" <<'PY'
import struct, sys, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
for name, rgb in [("red", (220, 30, 30)), ("green", (30, 200, 40)), ("blue", (30, 60, 220))]:
    rows = b"".join(b"\0" + bytes(rgb) * 32 for _ in range(32))
    with open(f"{sys.argv[1]}/{name}.png", "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
PY
"$contra" index "$work/pictures" --model "$work/lr-0.002" --out "$work/pictures.index" --quiet >"$work/index.log" 2>&1 ||
  { cat "$work/index.log"; exit 1; }
"$contra" search "$work/pictures.index" "a red circle" --top 3 --html "$work/search.html" >"$work/search.log" 2>&1 ||
  { cat "$work/search.log"; exit 1; }
sh "$here/check_pages.sh" "$work/lr-0.002/report.html" "$work/lr-0.001/report.html" "$work/compare.html" "$work/search.html"

# The checks can fail: a broken image with a load the page's policy blocks, and a blank page.
printf '%s\n' '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="img-src data:"></head>' \
  '<body><p>text</p><img alt="broken" src="data:image/png;base64,AAAA"><img alt="remote" src="http://192.0.2.1/x.png"></body></html>' \
  >"$work/broken.html"
printf '%s\n' '<!DOCTYPE html><html><body></body></html>' >"$work/blank.html"
if sh "$here/check_pages.sh" "$work/broken.html" "$work/blank.html" >"$work/bad-pages.log" 2>&1; then
  cat "$work/bad-pages.log"; echo "FAIL: the checks passed a broken and a blank page"; exit 1
fi
for expected in "2 of 2 images did not load" "violates the following Content Security Policy" "the screenshot is blank" \
                "0 of 2 pages pass"; do
  grep -q "$expected" "$work/bad-pages.log" || { cat "$work/bad-pages.log"; echo "FAIL: expected '$expected'"; exit 1; }
done
echo "broken and blank pages fail as they should"
