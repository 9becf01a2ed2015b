#!/usr/bin/env python3
"""Golden data for tests/image: Pillow's BICUBIC resize and torchvision's Resize/CenterCrop arithmetic.

Writes, next to this script:
  image_a.png      37x23 RGB, a busy integer pattern
  image_b.png      300x200 RGB, wrapping gradients plus hard edges and a checkerboard (real antialiased downscaling)
  image_c.png      13x9 RGB (upscaling)
  image_d.png      40x53 grey (mode L)
  image_e.png      20x30 RGBA (alpha dropped before resizing, as contra does)
  image_f.jpg      48x40 RGB JPEG (4:2:0), for a bit-exact decode check against Pillow
  image_g.jpg      20x12 greyscale JPEG (one component), likewise
  image_golden.bin   the expected results back to back: uint8 pixels (row-major HWC) and, for
                     "normalized", float64 little-endian values (CHW)
  image_golden.json  the manifest:
      {"cases": [{"name", "file", "op", "size" | "target" | "box", "width", "height", "channels",
                  "offset", "bytes"}],                       # uint8 result at bin[offset : offset+bytes]
       "normalized": {"case", "size", "offset", "count"},    # count float64 at bin[offset:]
       "jpeg": [{"file", "width", "height", "channels", "offset", "bytes"}]}  # Pillow's decode, as stored
  ops:
    resize             PIL resize((target[0], target[1]), BICUBIC) of the RGB image
    resize_center_crop torchvision Resize(size, BICUBIC) then CenterCrop(size)
    resized_crop       crop box [top, left, height, width], then resize to (size, size): F.resized_crop
torchvision is not needed: its arithmetic is written out below. Run with /usr/bin/python3 (PIL 9.4).
"""
import json
import math
import os

import numpy as np
import PIL
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def pattern_a():
    h, w = 23, 37
    a = np.zeros((h, w, 3), np.uint8)
    for y in range(h):
        for x in range(w):
            for c in range(3):
                a[y, x, c] = (x * 37 + y * 91 + c * 53 + ((x * y) % 17) * 11 + ((x * 2654435761 ^ y * 40503) >> 7)) % 256
    return Image.fromarray(a, "RGB")


def pattern_b():
    h, w = 200, 300
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([(x * 3 + y) % 256, (y * 2 + x // 2) % 256, (255 - x + y // 3) % 256], -1)
    a[40:90, 60:140] = (250, 20, 30)                        # a hard-edged block
    a[120:180, 200:280, 1] = 5                              # a dark-green window
    check = ((x // 3 + y // 3) % 2 == 0)[..., None]         # 3-pixel checkerboard: aliases without antialiasing
    a[:100, 150:200] = np.where(check[:100, 150:200], 255, 0)
    return Image.fromarray(a.astype(np.uint8), "RGB")


def pattern_c():
    h, w = 9, 13
    a = np.zeros((h, w, 3), np.uint8)
    for y in range(h):
        for x in range(w):
            a[y, x] = ((x * 61 + y * 17) % 256, (x * x * 7 + y * 29) % 256, 255 if (x + y) % 3 == 0 else 0)
    return Image.fromarray(a, "RGB")


def pattern_d():
    h, w = 53, 40
    y, x = np.mgrid[0:h, 0:w]
    a = ((x * 6 + y * 4) % 256).astype(np.uint8)
    a[10:30, 12:20] = 255
    a[35:50, 25:38] = 0
    return Image.fromarray(a, "L")


def pattern_e():
    h, w = 30, 20
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([(x * 12) % 256, (y * 8) % 256, ((x + y) * 5) % 256, (x * y * 3) % 256], -1).astype(np.uint8)
    return Image.fromarray(a, "RGBA")


def pattern_f():
    h, w = 40, 48
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    a = np.stack([128 + 100 * np.sin(x / 5), 128 + 100 * np.cos(y / 7), (x * 5 + y * 3) % 256], -1)
    a[10:20, 10:30] = (240, 240, 10)
    return Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8), "RGB")


def tv_resize(img, size):
    """torchvision F.resize(img, size) for an int size on a PIL image."""
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) == (w, h):
        return img
    return img.resize((new_w, new_h), Image.BICUBIC)


def tv_center_crop(img, size):
    w, h = img.size
    top = int(round((h - size) / 2.0))
    left = int(round((w - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def tv_resized_crop(img, top, left, height, width, size):
    return img.crop((left, top, left + width, top + height)).resize((size, size), Image.BICUBIC)


BLOB = bytearray()


def append(data):
    offset = len(BLOB)
    BLOB.extend(data)
    return {"offset": offset, "bytes": len(data)}


def record(name, file, op, out, **params):
    a = np.asarray(out.convert("RGB"), np.uint8)
    case = {"name": name, "file": file, "op": op, "width": out.size[0], "height": out.size[1], "channels": 3}
    case.update(append(a.tobytes()))
    case.update(params)
    return case


def main():
    images = {"image_a.png": pattern_a(), "image_b.png": pattern_b(), "image_c.png": pattern_c(),
              "image_d.png": pattern_d(), "image_e.png": pattern_e()}
    for file, img in images.items():
        img.save(os.path.join(HERE, file), optimize=True)
    # Decode what was written, as the C++ test does.
    loaded = {f: Image.open(os.path.join(HERE, f)) for f in images}
    for im in loaded.values():
        im.load()
    rgb = {f: (im.convert("RGB") if im.mode in ("RGBA", "LA") else im) for f, im in loaded.items()}

    cases = []
    for file, size in [("image_a.png", 16), ("image_b.png", 32), ("image_c.png", 20), ("image_d.png", 24),
                       ("image_e.png", 12)]:
        im = rgb[file]
        cases.append(record(file + " resize", file, "resize", tv_resize(im, size),
                            target=list(tv_resize(im, size).size)))
        cases.append(record(file + " resize_center_crop", file, "resize_center_crop",
                            tv_center_crop(tv_resize(im, size), size), size=size))
    # One axis kept: Pillow skips that pass.
    cases.append(record("a 37x23 -> 50x23", "image_a.png", "resize", rgb["image_a.png"].resize((50, 23), Image.BICUBIC),
                        target=[50, 23]))
    cases.append(record("a 37x23 -> 37x11", "image_a.png", "resize", rgb["image_a.png"].resize((37, 11), Image.BICUBIC),
                        target=[37, 11]))
    cases.append(record("b 300x200 -> 7x5", "image_b.png", "resize", rgb["image_b.png"].resize((7, 5), Image.BICUBIC),
                        target=[7, 5]))
    for box, size in [((2, 3, 20, 16), 16), ((1, 5, 17, 30), 16), ((13, 40, 170, 220), 24)]:
        file = "image_a.png" if size == 16 else "image_b.png"
        cases.append(record(f"{file} resized_crop {box}", file, "resized_crop",
                            tv_resized_crop(rgb[file], *box, size), box=list(box), size=size))

    crop = np.asarray(tv_center_crop(tv_resize(rgb["image_a.png"], 16), 16), np.float64) / 255.0
    norm = ((crop - np.array(MEAN)) / np.array(STD)).transpose(2, 0, 1)

    jpeg = []
    for file, img in [("image_f.jpg", pattern_f()), ("image_g.jpg", pattern_f().convert("L").crop((5, 3, 25, 15)))]:
        img.save(os.path.join(HERE, file), quality=90)
        decoded = Image.open(os.path.join(HERE, file))
        decoded.load()
        channels = {"RGB": 3, "L": 1}[decoded.mode]
        jpeg.append({"file": file, "width": decoded.size[0], "height": decoded.size[1], "channels": channels,
                     **append(np.asarray(decoded, np.uint8).tobytes())})

    golden = {"generator": "tests/golden/make_image_golden.py", "pillow": PIL.__version__,
              "cases": cases,
              "normalized": {"case": "image_a.png resize_center_crop", "size": 16, "count": int(norm.size),
                             "offset": append(norm.astype("<f8").tobytes())["offset"]},
              "jpeg": jpeg}
    with open(os.path.join(HERE, "image_golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    with open(os.path.join(HERE, "image_golden.bin"), "wb") as f:
        f.write(BLOB)


if __name__ == "__main__":
    main()
