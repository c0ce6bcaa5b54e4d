#!/usr/bin/env python3
"""Whole slides: random training regions, Headroom's loader against openslide-python + PIL
through a DataLoader.

The slides, written here (and kept in runs/bench-slides): synthetic "H&E-like" tissue (pink
and purple blobs with darker nuclei and texture on white), generic pyramidal tiled TIFFs as
OpenSlide's generic-tiff driver reads them (every level a tiled page in the main IFD chain,
NewSubfileType = 1 for the reduced ones), RGB, JPEG tiles of 256×256, level 0 8192×6144 and
levels 2×, 4× and 8× down, in two classes. Both sides take training regions at level 0: a
512×512 region around a centre drawn uniformly over the level (the box moved inside it, as
Headroom places it), flipped horizontally and vertically at random, into uint8 batches of 16 —
openslide-python's read_region + PIL's convert("RGB") + torchvision's RandomHorizontalFlip /
RandomVerticalFlip in DataLoader workers (each keeps its slides open), and `headroom
benchmark-loader --slide-level 0 --no-tissue-mask`. Headroom is timed again with its tissue
mask on (regions centred on tissue found in the slide's thumbnail; the PyTorch side has no
such step, so that row's ratio is against the same PyTorch figure).

Each slide gives --regions / --slides regions a run, in a row (train's --slide-regions K:
the set lists every slide K times), and both sides keep each slide open once it is opened (a
DataLoader worker per copy of the dataset, Headroom's loader for the process), as training
does. The first batch of each run (worker start-up) is not timed; both sides time the same
number of regions. Headroom's per-slide set-up (an open, and with the mask a thumbnail read)
is timed on its own too: each slide once, first batch timed, mask on and off.

    python bench/slides.py [--slides 16] [--regions 2048] [--workers 2] [--repeats 3]

Needs openslide-python and openslide-bin (OpenSlide itself), tifffile and imagecodecs (JPEG
tiles), beside torch and torchvision. Headroom reads these slides' tiles itself (TiledTIFF:
OpenSlide opens them and gives their levels); its regions equal OpenSlide's (SlideFixtureTests).
"""
import argparse
import json
import os
import random
import subprocess
import time

import numpy as np
import openslide
import tifffile
import torch
from PIL import Image, ImageDraw
from torchvision.transforms import v2

from common import HEADROOM, ROOT, cpu_description, write_result

CLASSES = ("a", "b")
WIDTH, HEIGHT, TILE, LEVELS = 8192, 6144, 256, 4  # level 0, then 2×, 4×, 8× down
REGION = 512


# ------------------------------------------------------------------------------------------ the slides

def smooth_field(rng, h, w, cell):
    """Uniform noise on a coarse grid (one value per `cell` pixels), bicubic-upsampled: smooth blobs."""
    ch, cw = h // cell + 3, w // cell + 3
    coarse = rng.random((ch, cw)).astype(np.float32)
    big = np.asarray(Image.fromarray(coarse, mode="F").resize((cw * cell, ch * cell), Image.BICUBIC))
    return big[cell:cell + h, cell:cell + w]


def synth_slide(seed, frac=0.35):
    """HEIGHT × WIDTH × 3 uint8 tissue, as Scripts/make_slide_fixtures.py draws it, but with the
    smooth parts (blobs, stain mixture) drawn 8× smaller and enlarged, so that a full-size slide
    takes seconds: nuclei and texture are drawn at full size."""
    rng = np.random.default_rng(seed)
    s = 8
    h, w = HEIGHT // s, WIDTH // s
    field = smooth_field(rng, h, w, 90) + 0.35 * smooth_field(rng, h, w, 30)
    yy, xx = np.mgrid[0:h, 0:w]
    edge = np.minimum.reduce([xx, yy, w - 1 - xx, h - 1 - yy]).astype(np.float32)
    field = field - 0.6 * np.clip(1 - edge / 40, 0, 1)  # keep tissue off the slide's border
    threshold = np.quantile(field, 1 - frac)
    alpha = np.clip((field - threshold) / 0.04, 0, 1)[..., None]
    mix = smooth_field(rng, h, w, 12)[..., None]
    pink = np.array([228, 150, 192], np.float32)
    purple = np.array([150, 96, 178], np.float32)
    background = np.array([244, 242, 246], np.float32)
    small = background * (1 - alpha) + (pink * (1 - mix) + purple * mix) * alpha
    colour = Image.fromarray(np.clip(np.rint(small), 0, 255).astype(np.uint8)).resize((WIDTH, HEIGHT), Image.BICUBIC)
    tissue = Image.fromarray((alpha[..., 0] * 255).astype(np.uint8)).resize((WIDTH, HEIGHT), Image.BILINEAR)
    # Nuclei: dark purple ellipses on the tissue.
    nuclei = Image.new("L", (WIDTH, HEIGHT), 0)
    draw = ImageDraw.Draw(nuclei)
    count = int(HEIGHT * WIDTH * frac / 400)
    xs, ys = rng.integers(0, WIDTH, count), rng.integers(0, HEIGHT, count)
    radii, squashes = rng.uniform(2.5, 6, count), rng.uniform(0.7, 1.3, count)
    inside = alpha[ys // s, xs // s, 0] >= 0.9
    for x, y, r, q in zip(xs[inside].tolist(), ys[inside].tolist(), radii[inside].tolist(), squashes[inside].tolist()):
        draw.ellipse((x - r, y - r * q, x + r, y + r), fill=204)
    dark = Image.new("RGB", (WIDTH, HEIGHT), (85, 45, 125))
    image = np.asarray(Image.composite(dark, colour, nuclei))
    # Texture: noise, stronger on tissue, in stripes to keep memory down.
    tissue = np.asarray(tissue)
    out = np.empty_like(image)
    for top in range(0, HEIGHT, 512):
        rows = slice(top, top + 512)
        sigma = 1.5 + 4.5 * (tissue[rows].astype(np.float32) / 255)
        noise = rng.standard_normal(image[rows].shape, dtype=np.float32) * sigma[..., None]
        out[rows] = np.clip(image[rows] + noise, 0, 255).astype(np.uint8)
    return out


def write_slide(path, seed):
    level = synth_slide(seed)
    partial = path + ".partial"
    with tifffile.TiffWriter(partial) as tw:
        for index in range(LEVELS):
            if index:
                level = np.asarray(Image.fromarray(level).reduce(2))  # 2×2 box mean
            tw.write(level, tile=(TILE, TILE), photometric="rgb", compression="jpeg", compressionargs={"level": 80},
                     subfiletype=1 if index else 0, metadata=None, software=False)
    os.replace(partial, path)


def write_set(root, slides):
    """The slides (written once), in an ImageFolder of two classes."""
    folder = os.path.join(root, f"set-{slides}")
    for index in range(slides):
        directory = os.path.join(folder, CLASSES[index % len(CLASSES)])
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, f"slide{index:03d}.tiff")
        if not os.path.exists(path):
            print(f"writing {path}", flush=True)
            write_slide(path, seed=index)
    return folder


# ------------------------------------------------------------------------------------------ the two loaders

class SlideRegions(torch.utils.data.Dataset):
    """Each file one training region: REGION² at level 0 at a random place, flipped at random."""

    def __init__(self, root, regions):
        # Each slide `regions` times in a row, as Headroom's --slide-regions lists them.
        self.files = [path for path in sorted(os.path.join(d, f) for d, _, names in os.walk(root) for f in names)
                      for _ in range(regions)]
        self.transform = v2.Compose([v2.RandomHorizontalFlip(), v2.RandomVerticalFlip()])
        self.slides = {}  # per worker process: a DataLoader worker gets its own copy

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        path = self.files[index]
        slide = self.slides.get(path)
        if slide is None:
            slide = self.slides[path] = openslide.OpenSlide(path)
        # Headroom's rule: a centre drawn uniformly over the level, the box moved inside it.
        width, height = slide.level_dimensions[0]
        x = min(max(0, round(random.random() * width - REGION / 2)), width - REGION)
        y = min(max(0, round(random.random() * height - REGION / 2)), height - REGION)
        region = slide.read_region((x, y), 0, (REGION, REGION)).convert("RGB")
        return self.transform(v2.functional.pil_to_tensor(region)), 0


def pytorch_rate(root, batch, workers, regions):
    torch.set_num_threads(1)
    loader = torch.utils.data.DataLoader(SlideRegions(root, regions), batch_size=batch, num_workers=workers, shuffle=False, drop_last=True)
    iterator = iter(loader)
    next(iterator)
    start = time.perf_counter()
    count = 0
    for images, _ in iterator:
        assert images.dtype == torch.uint8 and images.shape[1:] == (3, REGION, REGION)
        count += images.shape[0]
    return count / (time.perf_counter() - start), count


def headroom_run(root, batch, workers, tissue_mask, regions, time_first_batch=False):
    """(images, seconds) from `headroom benchmark-loader`."""
    command = [HEADROOM, "benchmark-loader", root, "--transform", "training", "--resolution", str(REGION), "--batch", str(batch),
               "--workers", str(workers), "--slide-level", "0", "--slide-regions", str(regions)] + ([] if tissue_mask else ["--no-tissue-mask"]) \
        + (["--time-first-batch"] if time_first_batch else [])
    result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return result["images"], result["seconds"]


def headroom_rate(root, batch, workers, tissue_mask, regions):
    images, seconds = headroom_run(root, batch, workers, tissue_mask, regions)
    return images / seconds, images


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--slides", type=int, default=16)
    parser.add_argument("--regions", type=int, default=2048, help="regions a run in all: regions / slides of each slide")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    batch = 16
    regions = max(1, args.regions // args.slides)
    root = write_set(os.path.join(ROOT, "runs", "bench-slides"), args.slides)
    peer, uniform, tissue, setup = [], [], [], []
    for _ in range(args.repeats):
        rate, peer_images = pytorch_rate(root, batch, args.workers, regions)
        peer.append(rate)
        rate, images = headroom_rate(root, batch, args.workers, False, regions)
        uniform.append(rate)
        assert images == peer_images, f"Headroom timed {images} regions, PyTorch {peer_images}"
        tissue.append(headroom_rate(root, batch, args.workers, True, regions)[0])
        setup.append((headroom_run(root, batch, args.workers, True, 1, time_first_batch=True)[1],
                      headroom_run(root, batch, args.workers, False, 1, time_first_batch=True)[1]))
    with_mask, without_mask = min(s[0] for s in setup), min(s[1] for s in setup)
    rows = [
        f"| anywhere (`--no-tissue-mask`) | {max(peer):.1f} | {max(uniform):.1f} | {max(uniform) / max(peer):.2f}× |",
        f"| on tissue (Headroom's mask; PyTorch anywhere) | {max(peer):.1f} | {max(tissue):.1f} | {max(tissue) / max(peer):.2f}× |",
    ]
    lines = [
        f"Training regions from {args.slides} synthetic whole slides (generic pyramidal TIFF, JPEG tiles 256², level 0 "
        f"{WIDTH}×{HEIGHT}, 4 levels): {REGION}² at level 0 at a random place + random h/v flip → uint8 batches of {batch}, "
        f"{args.workers} workers, {regions} regions of each slide a run, {regions * args.slides} in all ({peer_images} timed), "
        f"{args.repeats} alternating repeats (best shown); OpenSlide {openslide.__library_version__} opens the slides on both sides, "
        f"and reads PyTorch's regions; Headroom decodes a generic TIFF's tiles itself (only the part of each JPEG tile a "
        f"region needs; the same pixels as OpenSlide's, tested); "
        f"{cpu_description()}. Both sides open each slide once (per DataLoader worker on PyTorch's side) and keep it open.",
        "",
        "| regions | openslide-python + PIL + torchvision img/s | Headroom img/s | Headroom / PyTorch |",
        "|---|---|---|---|",
    ] + rows + [
        "",
        f"Headroom's per-slide set-up, each of the {args.slides} slides once (open + one region, first batch timed): "
        f"{with_mask:.2f} s with the tissue mask, {without_mask:.2f} s without, so the mask costs about "
        f"{(with_mask - without_mask) / args.slides * 1000:.0f} ms of wall time a slide with {args.workers} workers.",
    ]
    text = "\n".join(lines)
    print(text)
    write_result("slides.md", text)


if __name__ == "__main__":
    main()
