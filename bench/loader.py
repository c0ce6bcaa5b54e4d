#!/usr/bin/env python3
"""The loader: Headroom's against torchvision ImageFolder + PIL through a DataLoader.

Both decode 2048×1536 JPEGs, resize the shorter side to 512, centre-crop 512×512 and
hand over uint8 batches of 16 (PILToTensor on the PyTorch side: no float conversion on
either side), with the same number of worker threads/processes. The first batch of each
run (worker start-up) is not timed.

    bench/.venv/bin/python bench/loader.py [--images 96] [--workers 2] [--repeats 2]
"""
import argparse
import json
import os
import subprocess
import time

import torch
import torchvision
from torchvision import transforms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADROOM = os.path.join(ROOT, ".build", "debug", "headroom")


def pytorch_rate(root, resolution, batch, workers):
    torch.set_num_threads(1)
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


def headroom_rate(root, resolution, batch, workers):
    output = subprocess.run(
        [HEADROOM, "benchmark-loader", root, "--resolution", str(resolution), "--batch", str(batch), "--workers", str(workers)],
        check=True, capture_output=True, text=True).stdout
    result = json.loads(output)
    return result["images"] / result["seconds"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=96, help="images in all (three classes)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    data = os.path.join(ROOT, "runs", "bench-loader-data")
    subprocess.run([HEADROOM, "demo-data", data, "--train-per-class", str(args.images // 3), "--val-per-class", "1",
                    "--width", "2048", "--height", "1536"], check=True, capture_output=True)
    root = os.path.join(data, "train")
    peer, ours = [], []
    for _ in range(args.repeats):
        peer.append(pytorch_rate(root, 512, 16, args.workers))
        ours.append(headroom_rate(root, 512, 16, args.workers))
    lines = [
        f"2048×1536 JPEG → Resize(512) + CenterCrop(512) → uint8 batches of 16, {args.workers} workers, "
        f"{args.images} images, {args.repeats} alternating repeats (best shown)",
        "",
        "| format | torchvision + PIL img/s | Headroom img/s | Headroom / PyTorch |",
        "|---|---|---|---|",
        f"| JPEG | {max(peer):.1f} | {max(ours):.1f} | {max(ours) / max(peer):.2f}× |",
    ]
    text = "\n".join(lines)
    print(text)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "loader.md"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
