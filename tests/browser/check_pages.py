#!/usr/bin/env python3
"""Renders HTML pages in headless Chromium and checks each one:
  - every <img> loaded (naturalWidth > 0), read by a wrapper page that holds the page in an iframe;
  - the browser printed no console message for the page (the pages have no scripts, so any
    message is an error: a blocked load, a Content-Security-Policy violation, a broken URI);
  - the screenshot is not blank: it has more than a few distinct colours.
Usage: check_pages.py CHROMIUM PAGE.html [PAGE.html ...]   (exit 0: all pass, 1: a failure)
Only the standard library: PNG screenshots are decoded with zlib."""
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib

WIDTH, HEIGHT = 1200, 1600
FLAGS = ["--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--no-first-run",
         "--disable-extensions", "--disable-background-networking", "--allow-file-access-from-files",
         f"--window-size={WIDTH},{HEIGHT}"]

WRAPPER = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<iframe id="page" src="{src}" width="{w}" height="{h}"></iframe>
<script>
document.getElementById("page").addEventListener("load", function () {{
  var result;
  try {{
    var doc = document.getElementById("page").contentDocument;
    result = {{images: Array.prototype.map.call(doc.images, function (img) {{
      return {{alt: img.alt, loaded: img.complete && img.naturalWidth > 0}}; }}),
      title: doc.title, text: doc.body ? doc.body.innerText.length : 0}};
  }} catch (e) {{ result = {{error: String(e)}}; }}
  document.body.setAttribute("data-result", JSON.stringify(result));
}});
</script></body></html>"""


def run(chromium, args, timeout=120):
    return subprocess.run([chromium] + FLAGS + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, text=True, errors="replace")


def png_colours(path, limit=64):
    """The number of distinct colours of an 8-bit RGB(A) PNG (stops counting at `limit`)."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour_type not in (2, 6) or interlace:
                raise ValueError(f"unexpected PNG format (depth {depth}, colour type {colour_type})")
            bpp = 3 if colour_type == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    previous = bytearray(stride)
    colours = set()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, previous))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = previous[i], previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 8 == 0 and len(colours) < limit:  # every 8th row is enough to tell a page from a blank one
            colours.update(bytes(line[i:i + 3]) for i in range(0, stride, bpp * 4))
        previous = line
    return len(colours)


def check(chromium, page, work):
    problems = []
    url = "file://" + os.path.abspath(page)
    wrapper = os.path.join(work, "wrapper.html")
    with open(wrapper, "w") as f:
        f.write(WRAPPER.format(src=url, w=WIDTH, h=HEIGHT))
    dom = run(chromium, ["--virtual-time-budget=10000", "--dump-dom", "file://" + wrapper])
    match = re.search(r'data-result="([^"]*)"', dom.stdout)
    if not match:
        problems.append("the page did not load in the browser (no result from the wrapper page)")
    else:
        result = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
        if "error" in result:
            problems.append("the wrapper could not read the page: " + result["error"])
        else:
            broken = [img["alt"] or "(no alt)" for img in result["images"] if not img["loaded"]]
            if broken:
                problems.append(f"{len(broken)} of {len(result['images'])} images did not load: " + "; ".join(broken[:5]))
            if result["text"] == 0:
                problems.append("the page shows no text")
            print(f"  {len(result['images']) - len(broken)} of {len(result['images'])} images loaded, title '{result['title']}'")

    shot = os.path.join(work, "shot.png")
    logged = run(chromium, ["--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--screenshot=" + shot, url])
    console = [line for line in logged.stderr.splitlines() if ":CONSOLE" in line]
    if console:
        problems.append("console messages:\n    " + "\n    ".join(console[:10]))
    if not os.path.exists(shot):
        problems.append("no screenshot was written (chromium exit code %d)" % logged.returncode)
    else:
        colours = png_colours(shot)
        print(f"  screenshot: {colours if colours < 64 else '64 or more'} distinct colours")
        if colours <= 4:
            problems.append(f"the screenshot is blank or nearly so ({colours} distinct colours)")
    return problems


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: check_pages.py CHROMIUM PAGE.html [PAGE.html ...]")
    chromium, pages = sys.argv[1], sys.argv[2:]
    failed = 0
    with tempfile.TemporaryDirectory() as work:
        for page in pages:
            print(f"{page}:")
            if not os.path.isfile(page):
                problems = ["no such file"]
            else:
                problems = check(chromium, page, work)
            for p in problems:
                print("  FAIL: " + p)
            failed += bool(problems)
            if not problems:
                print("  ok")
    print(f"{len(pages) - failed} of {len(pages)} pages pass")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
