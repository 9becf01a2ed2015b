"""The image-caption pipeline in Pillow + NumPy, one process: what a PyTorch DataLoader worker runs
for open_clip (torchvision's RandomResizedCrop(224, scale=(0.9, 1.0), BICUBIC) or Resize(224,
BICUBIC) + CenterCrop(224), ToTensor, Normalize). Peer of benchmarks/data.cpp.
Usage: python3 pil_preprocess.py PHOTO_DIR [--seconds 3]; prints pairs/s per transform."""
import argparse
import math
import os
import random
import time

import numpy as np
from PIL import Image

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32).reshape(3, 1, 1)


def to_tensor(img):
    x = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0
    return (x - MEAN) / STD


def centre(path, size=224):
    img = Image.open(path).convert("RGB")
    w, h = img.size
    scale = size / min(w, h)
    img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BICUBIC)
    w, h = img.size
    left, top = (w - size) // 2, (h - size) // 2
    return to_tensor(img.crop((left, top, left + size, top + size)))


def random_resized(path, rng, size=224):
    img = Image.open(path).convert("RGB")
    w, h = img.size
    for _ in range(10):  # torchvision's RandomResizedCrop.get_params
        area = w * h * rng.uniform(0.9, 1.0)
        ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        cw, ch = int(round(math.sqrt(area * ratio))), int(round(math.sqrt(area / ratio)))
        if 0 < cw <= w and 0 < ch <= h:
            left, top = rng.randint(0, w - cw), rng.randint(0, h - ch)
            break
    else:
        cw, ch, left, top = w, h, 0, 0
    return to_tensor(img.resize((size, size), Image.BICUBIC, box=(left, top, left + cw, top + ch)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("photos")
    ap.add_argument("--seconds", type=float, default=3.0)
    a = ap.parse_args()
    paths = sorted(os.path.join(a.photos, f) for f in os.listdir(a.photos) if f.endswith((".png", ".jpg")))
    rng = random.Random(0)
    for name, fn in (("centre crop", centre), ("random resized crop", lambda p: random_resized(p, rng))):
        fn(paths[0])
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < a.seconds:
            for p in paths:
                fn(p)
                n += 1
        print(f"pillow {name}: {n / (time.perf_counter() - start):.1f} pairs/s ({len(paths)} photos)")


if __name__ == "__main__":
    main()
