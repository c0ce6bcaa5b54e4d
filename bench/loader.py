#!/usr/bin/env python3
"""The loader: Headroom's against torchvision ImageFolder + PIL through a DataLoader.

Both decode 2048×1536 images and hand over uint8 batches of 16 at 512 px (PILToTensor on
the PyTorch side: no float conversion on either side), with the same number of worker
threads/processes, through two transforms: validation's Resize(512) + CenterCrop(512), and
training's RandomResizedCrop(512) + RandomHorizontalFlip. The first batch of each run
(worker start-up) is not timed. One row per format and transform: JPEG (where Headroom
decodes at a reduced DCT scale, and in training only the crop's rows and columns, while
PIL, as torchvision's loader calls it, decodes everything), PNG and lossy WebP (both sides
decode every pixel). Headroom also runs with `--whole-images` (crops cut from the whole
decoded image, the path before crop-before-decode) to show what decoding the crop alone
gives. The sets come from `headroom demo-data`.

    bench/.venv/bin/python bench/loader.py [--images 160] [--workers 2] [--repeats 3] [--formats jpeg,png,webp]
"""
import argparse
import json
import os
import subprocess
import time

import torch
import torchvision
from torchvision import transforms

from common import HEADROOM, ROOT, write_result


def pytorch_rate(root, resolution, batch, workers, training):
    torch.set_num_threads(1)
    if training:
        transform = transforms.Compose([
            transforms.RandomResizedCrop(resolution), transforms.RandomHorizontalFlip(), transforms.PILToTensor()])
    else:
        transform = transforms.Compose([transforms.Resize(resolution), transforms.CenterCrop(resolution), transforms.PILToTensor()])
    dataset = torchvision.datasets.ImageFolder(root, transform=transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, num_workers=workers, shuffle=False, drop_last=True)
    iterator = iter(loader)
    next(iterator)
    start = time.perf_counter()
    count = 0
    for images, _ in iterator:
        count += images.shape[0]
    return count / (time.perf_counter() - start)


def headroom_rate(root, resolution, batch, workers, training, whole_images=False):
    command = [HEADROOM, "benchmark-loader", root, "--resolution", str(resolution), "--batch", str(batch), "--workers", str(workers),
               "--transform", "training" if training else "evaluation"] + (["--whole-images"] if whole_images else [])
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result = json.loads(output)
    return result["images"] / result["seconds"]


FORMAT_NAMES = {"jpeg": "JPEG", "png": "PNG", "webp": "WebP (lossy)"}
CLASSES = 5  # headroom demo-data's classes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=160, help=f"images per format in all ({CLASSES} classes)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--formats", default="jpeg,png,webp")
    args = parser.parse_args()
    formats = args.formats.split(",")
    rows = []
    for image_format in formats:
        data = os.path.join(ROOT, "runs", f"bench-loader-{image_format}")
        subprocess.run([HEADROOM, "demo-data", data, "--train-per-class", str(args.images // CLASSES), "--val-per-class", "1",
                        "--width", "2048", "--height", "1536", "--format", image_format], check=True, capture_output=True)
        root = os.path.join(data, "train")
        for training in (False, True):
            peer, ours, whole = [], [], []
            for _ in range(args.repeats):
                peer.append(pytorch_rate(root, 512, 16, args.workers, training))
                ours.append(headroom_rate(root, 512, 16, args.workers, training))
                whole.append(headroom_rate(root, 512, 16, args.workers, training, whole_images=True))
            name = "RandomResizedCrop + flip" if training else "Resize + CenterCrop"
            rows.append(f"| {FORMAT_NAMES[image_format]} | {name} | {max(peer):.1f} | {max(whole):.1f} | {max(ours):.1f} "
                        f"| {max(ours) / args.workers:.1f} | {max(ours) / max(peer):.2f}× |")
    lines = [
        f"2048×1536 images → 512 px uint8 batches of 16, {args.workers} workers, "
        f"{args.images // CLASSES * CLASSES} images per format, {args.repeats} alternating repeats (best shown). "
        "Headroom whole: crops cut from the whole decoded image; Headroom: the crop decoded alone.",
        "",
        "| format | transform | torchvision + PIL img/s | Headroom whole img/s | Headroom img/s | Headroom img/s per worker "
        "| Headroom / PyTorch |",
        "|---|---|---|---|---|---|---|",
    ] + rows
    text = "\n".join(lines)
    print(text)
    write_result("loader.md", text)


if __name__ == "__main__":
    main()
