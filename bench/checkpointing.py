#!/usr/bin/env python3
"""Activation checkpointing (issue: the memory ladder), against PyTorch eager, same run.

1. The largest square resolution (a multiple of 32) whose training step at micro-batch 1
   fits a memory budget (default 2 GiB): Headroom with every segment checkpointed (the top
   of the ladder) against PyTorch eager without checkpointing. Both are measured with the
   same instrument, bench/alloc_counter.c (LD_PRELOAD): the peak bytes held through
   posix_memalign, which is how libtorch's CPU allocator gets every tensor. Each side runs
   torchvision's resnet18 with SGD (momentum) for two steps at batch 1 (the first creates
   the optimiser state). The search fits peak = a + b·pixels on two resolutions, then
   bisects around the prediction with real runs.
2. The step-time overhead of checkpointing at 512 px (Headroom on against off, batch 8).

    bench/.venv/bin/python bench/checkpointing.py [--budget-gib 2] [--threads 2]

Prints a Markdown table (also written to bench/results/checkpointing.md).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from common import HEADROOM, ROOT, write_result

PYTORCH_STEP = """
import sys, torch, torchvision
torch.set_num_threads(int(sys.argv[2]))
resolution = int(sys.argv[1])
model = torchvision.models.resnet18(num_classes=1000)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
images = (torch.rand(1, 3, resolution, resolution) * 255).to(torch.uint8)
labels = torch.randint(0, 1000, (1,))
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255
for _ in range(2):
    x = (images.float() - mean) / std
    loss = torch.nn.functional.cross_entropy(model(x), labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    loss.item()
"""


def build_counter(directory):
    library = os.path.join(directory, "alloc_counter.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", library, os.path.join(ROOT, "bench", "alloc_counter.c"), "-ldl"], check=True)
    return library


def peak(command, library, directory):
    out = os.path.join(directory, "peak")
    env = dict(os.environ, LD_PRELOAD=library, ALLOC_COUNTER_OUT=out)
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{command[0]} failed: {result.stderr[-2000:]}")
    with open(out) as file:
        return int(file.read())


def largest_fitting(measure, budget):
    """The largest multiple of 32 whose measured peak fits `budget`."""
    cache = {}

    def fits(resolution):
        if resolution not in cache:
            cache[resolution] = measure(resolution)
        return cache[resolution] <= budget

    # A line in the pixel count through two measurements predicts the answer.
    low, high = 512, 1024
    a_px, b_px = low * low, high * high
    fits(low), fits(high)
    slope = (cache[high] - cache[low]) / (b_px - a_px)
    guess = int(((budget - cache[low]) / slope + a_px) ** 0.5) // 32 * 32
    lo, hi = max(32, guess - 64), guess + 64
    while not fits(lo):
        lo = max(32, lo - 128)
    while fits(hi):
        lo, hi = hi, hi + 128
    while hi - lo > 32:
        middle = (lo + hi) // 64 * 32
        if fits(middle):
            lo = middle
        else:
            hi = middle
    return lo, cache


def step_seconds(checkpointing, threads, repeats):
    times = []
    for _ in range(repeats):
        out = subprocess.run(
            [HEADROOM, "benchmark-step", "--batch", "8", "--resolution", "512", "--steps", "3", "--warm-up", "1",
             "--threads", str(threads), "--activation-checkpointing", checkpointing],
            capture_output=True, text=True, check=True).stdout
        times += json.loads(out)["seconds_per_step"]
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget-gib", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--resolutions", default=None, help="skip the search: reuse these results, e.g. 2112,2112,2560")
    args = parser.parse_args()
    budget = int(args.budget_gib * 2**30)
    with tempfile.TemporaryDirectory() as directory:
        library = build_counter(directory)
        script = os.path.join(directory, "step.py")
        with open(script, "w") as file:
            file.write(PYTORCH_STEP)

        def headroom_peak(checkpointing):
            return lambda r: peak(
                [HEADROOM, "benchmark-step", "--batch", "1", "--resolution", str(r), "--steps", "1", "--warm-up", "1",
                 "--threads", str(args.threads), "--activation-checkpointing", checkpointing], library, directory)

        pytorch = lambda r: peak([sys.executable, script, str(r), str(args.threads)], library, directory)
        rows = []
        known = [int(r) for r in args.resolutions.split(",")] if args.resolutions else None
        for index, (name, measure) in enumerate([("PyTorch eager, no checkpointing", pytorch),
                              ("Headroom, no checkpointing", headroom_peak("off")),
                              ("Headroom, every segment checkpointed", headroom_peak("on"))]):
            if known:
                cache = {known[index]: measure(known[index])}
                resolution = known[index]
            else:
                resolution, cache = largest_fitting(measure, budget)
            rows.append((name, resolution, cache[resolution], cache))
            print(f"{name}: {resolution} px fits ({cache[resolution] / 2**20:.0f} MiB); measured {sorted(cache.items())}", flush=True)

    off = step_seconds("off", args.threads, args.repeats)
    on = step_seconds("on", args.threads, args.repeats)
    base = rows[0][1]
    lines = [
        f"Largest square resolution whose resnet18 training step at micro-batch 1 fits {args.budget_gib:g} GiB "
        f"(peak bytes through libtorch's CPU allocator, same instrument on both sides; fp32, {args.threads} threads):",
        "",
        "| configuration | largest resolution | peak there | pixels vs PyTorch |",
        "|---|---|---|---|",
    ]
    for name, resolution, bytes_, _ in rows:
        lines.append(f"| {name} | {resolution} px | {bytes_ / 2**20:.0f} MiB | {(resolution / base) ** 2:.2f}× |")
    lines += [
        "",
        f"Step time at 8 × 512 px (Headroom, {len(off)} steps each, min / median): "
        f"off {min(off):.2f} / {statistics.median(off):.2f} s, every segment {min(on):.2f} / {statistics.median(on):.2f} s: "
        f"+{(statistics.median(on) / statistics.median(off) - 1) * 100:.0f}% by median "
        f"(predicted from multiply-adds: +40%, each segment once more plus the banded stem's three extra conv1 passes).",
        "",
        f"Command: `bench/.venv/bin/python bench/checkpointing.py --budget-gib {args.budget_gib:g} --threads {args.threads}`",
    ]
    table = "\n".join(lines)
    print(table)
    write_result("checkpointing.md", table)


if __name__ == "__main__":
    main()
