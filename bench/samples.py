#!/usr/bin/env python3
"""Full-depth samples: Headroom's loader against tifffile / PIL + numpy through a DataLoader.

Two sets, written here: 13-band uint16 Sentinel-2-like tiles (1024×1024, tiled 256×256,
deflate, by tifffile) and 16-bit greyscale PNGs (1024×768, by PIL). Both sides read every band
at full depth into float32 and apply the training transform, RandomResizedCrop(256) (bilinear,
antialiased) + RandomHorizontalFlip, into batches of 16 — torchvision's transforms on tensors
on the PyTorch side, fed by tifffile.imread or PIL + numpy in DataLoader workers. The first
batch of each run (worker start-up) is not timed. Headroom decodes only the tiles a crop
touches; tifffile and PIL decode the whole image.

    bench/.venv/bin/python bench/samples.py [--images 64] [--workers 2] [--repeats 3]
"""
import argparse
import json
import os
import subprocess
import time

import numpy as np
import tifffile
import torch
from PIL import Image
from torchvision.transforms import v2

from common import HEADROOM, ROOT, cpu_description, write_result

CLASSES = ("a", "b")


def write_sets(root, images):
    rng = np.random.default_rng(0)
    sets = {}
    for kind in ("tiff", "png"):
        base = os.path.join(root, f"bench-samples-{kind}")
        for name in CLASSES:
            os.makedirs(os.path.join(base, name), exist_ok=True)
            for index in range(images // len(CLASSES)):
                path = os.path.join(base, name, f"{index:04d}.{'tif' if kind == 'tiff' else 'png'}")
                if os.path.exists(path):
                    continue
                if kind == "tiff":
                    data = rng.integers(0, 4096, (1024, 1024, 13), dtype=np.uint16) + np.arange(13, dtype=np.uint16) * 1000
                    tifffile.imwrite(path, data, photometric="minisblack", planarconfig="contig", tile=(256, 256), compression="zlib")
                else:
                    y, x = np.mgrid[0:768, 0:1024]
                    data = ((x * 40 + y * 20) + rng.integers(0, 512, (768, 1024))).astype(np.uint16)
                    Image.fromarray(data).save(path)  # uint16: mode I;16
        sets[kind] = base
    return sets


class FullDepth(torch.utils.data.Dataset):
    def __init__(self, root, transform):
        self.files = sorted(os.path.join(d, f) for d, _, names in os.walk(root) for f in names)
        self.transform = transform

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        path = self.files[index]
        if path.endswith(".tif"):
            array = tifffile.imread(path)  # [H, W, 13] uint16
            tensor = torch.from_numpy(array.astype(np.float32)).permute(2, 0, 1)
        else:
            array = np.asarray(Image.open(path), dtype=np.uint16)
            tensor = torch.from_numpy(array.astype(np.float32))[None]
        return self.transform(tensor), 0


def pytorch_rate(root, resolution, batch, workers):
    torch.set_num_threads(1)
    transform = v2.Compose([v2.RandomResizedCrop(resolution, antialias=True), v2.RandomHorizontalFlip()])
    loader = torch.utils.data.DataLoader(FullDepth(root, transform), batch_size=batch, num_workers=workers, drop_last=True)
    # Timed from the start, worker start-up included: DataLoader's workers prefetch two batches
    # each, so leaving out a first batch would leave out up to four.
    start = time.perf_counter()
    count = 0
    for images, _ in loader:
        assert images.dtype == torch.float32
        count += images.shape[0]
    return count / (time.perf_counter() - start)


def headroom_rate(root, resolution, batch, workers):
    command = [HEADROOM, "benchmark-loader", root, "--resolution", str(resolution), "--batch", str(batch), "--workers", str(workers),
               "--transform", "training", "--time-first-batch"]
    result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return result["images"] / result["seconds"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=192)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sets = write_sets(os.path.join(ROOT, "runs"), args.images)
    names = {"tiff": "13-band uint16 TIFF 1024², tiled 256², deflate", "png": "16-bit grey PNG 1024×768"}
    rows = []
    for kind, root in sets.items():
        peer, ours = [], []
        for _ in range(args.repeats):
            peer.append(pytorch_rate(root, 256, 16, args.workers))
            ours.append(headroom_rate(root, 256, 16, args.workers))
        rows.append(f"| {names[kind]} | {max(peer):.1f} | {max(ours):.1f} | {max(ours) / max(peer):.2f}× |")
    lines = [
        f"Full-depth float32 batches of 16 at 256 px, RandomResizedCrop + flip, {args.workers} workers, {args.images} images per set, "
        f"{args.repeats} alternating repeats (best shown); {cpu_description()}.",
        "",
        "| set | tifffile / PIL + numpy + torchvision img/s | Headroom img/s | Headroom / PyTorch |",
        "|---|---|---|---|",
    ] + rows
    text = "\n".join(lines)
    print(text)
    write_result("samples.md", text)


if __name__ == "__main__":
    main()
