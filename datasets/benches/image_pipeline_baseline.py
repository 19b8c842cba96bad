#!/usr/bin/env python3
"""Baseline for the `image_pipeline` bench: JPEG decode + random horizontal flip + (x - 127.5) / 127.5
to CHW float32, one image at a time on one core, with PIL + numpy and with torchvision.

Usage:
  image_pipeline_baseline.py encode DIR   turn DIR/*.png into DIR/*.jpg with PIL, quality 95, 4:2:0
                                          (what cv2.imencode / PIL give insightface's recs)
  image_pipeline_baseline.py DIR ROUNDS   time DIR/*.jpg; prints one JSON object
                                          {"pil_numpy": img_per_s, "torchvision": img_per_s or null,
                                           "torchvision_transforms": img_per_s or null}

"torchvision" is the leanest torch path (decode_jpeg, functional flip, in-place float ops);
"torchvision_transforms" is the same work as training scripts write it, a transforms.v2 Compose
of RandomHorizontalFlip, ToDtype(float32, scale=True) and Normalize(0.5, 0.5).
"""
import glob
import io
import json
import os
import random
import sys
import time

import numpy as np
from PIL import Image


def best_rate(fn, items, rounds):
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for b in items:
            fn(b)
        best = max(best, len(items) / (time.perf_counter() - start))
    return best


def encode(folder):
    for png in sorted(glob.glob(os.path.join(folder, "*.png"))):
        Image.open(png).convert("RGB").save(png[:-4] + ".jpg", "JPEG", quality=95)


def main():
    if sys.argv[1] == "encode":
        encode(sys.argv[2])
        return
    folder, rounds = sys.argv[1], int(sys.argv[2])
    files = sorted(glob.glob(os.path.join(folder, "*.jpg")))
    blobs = [open(f, "rb").read() for f in files]
    rng = random.Random(0)

    def pil(b):
        arr = np.asarray(Image.open(io.BytesIO(b)).convert("RGB"))
        if rng.random() < 0.5:
            arr = arr[:, ::-1]
        return ((arr.transpose(2, 0, 1).astype(np.float32) - 127.5) / 127.5)

    result = {
        "images": len(blobs),
        "pil_numpy": best_rate(pil, blobs, rounds),
        "torchvision": None,
        "torchvision_transforms": None,
    }
    try:
        import torch
        from torchvision.io import decode_jpeg
        from torchvision.transforms import v2
        from torchvision.transforms.v2 import functional as F

        torch.set_num_threads(1)
        tensors = [torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in blobs]

        def tv(t):
            img = decode_jpeg(t)
            if rng.random() < 0.5:
                img = F.horizontal_flip(img)
            return img.float().sub_(127.5).div_(127.5)

        result["torchvision"] = best_rate(tv, tensors, rounds)
        compose = v2.Compose([
            v2.RandomHorizontalFlip(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
        ])
        result["torchvision_transforms"] = best_rate(lambda t: compose(decode_jpeg(t)), tensors, rounds)
        result["torch"] = torch.__version__
    except ImportError as e:
        result["torchvision_error"] = str(e)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
