#!/usr/bin/env python3
"""Streaming (issue: the memory ladder's top rung), against PyTorch eager, same run.

1. The largest square resolution (a multiple of 32) whose resnet18 training step at
   micro-batch 1 fits a memory budget: PyTorch eager, Headroom with every segment
   checkpointed, and Headroom streamed (a fixed rung, every segment checkpointed behind it).
   Same instrument and search as bench/checkpointing.py: peak bytes through libtorch's CPU
   allocator (bench/alloc_counter.c), two steps at batch 1, a line through two sizes, then
   bisection with real runs. Each figure is a run; the line's prediction for larger budgets
   is printed as a prediction only.
2. Step time of each at one size all of them fit, and of the streamed step at its maximum.

    bench/.venv/bin/python bench/streaming.py [--budget-gib 0.5] [--rung layer2:16] [--threads 2]

Streamed steps cost several plain steps (each BatchNorm's statistics pass recomputes what
comes before it), so a search at 2 or 4 GiB takes hours on two cores.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from checkpointing import PYTORCH_STEP, build_counter, largest_fitting, peak
from common import HEADROOM, write_result


# PyTorch's step, timed: the second of two (the first creates the optimiser state).
PYTORCH_TIMED_STEP = PYTORCH_STEP.replace("for _ in range(2):", "import time\nfor _ in range(2):\n    start = time.perf_counter()") + \
    "print(time.perf_counter() - start)\n"


def headroom_command(resolution, threads, extra, steps=1):
    return [HEADROOM, "benchmark-step", "--batch", "1", "--resolution", str(resolution), "--steps", str(steps), "--warm-up", "1",
            "--threads", str(threads)] + extra


def pytorch_step_seconds(script, resolution, threads):
    out = subprocess.run([sys.executable, script, str(resolution), str(threads)], check=True, capture_output=True, text=True).stdout
    return float(out.split()[-1])


def headroom_step_seconds(resolution, threads, extra):
    out = subprocess.run(headroom_command(resolution, threads, extra), check=True, capture_output=True, text=True).stdout
    return json.loads(out)["seconds_per_step"][0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget-gib", type=float, default=0.5)
    parser.add_argument("--rung", default="layer2:16", help="streamed through this stage in this many bands")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--common", type=int, default=768, help="the resolution whose step time all three report")
    args = parser.parse_args()
    budget = int(args.budget_gib * 2**30)
    configurations = [
        ("PyTorch eager", None),
        ("Headroom, every segment checkpointed", ["--activation-checkpointing", "on"]),
        (f"Headroom, streamed through {args.rung.replace(':', ' in ')} bands", ["--streaming", args.rung]),
    ]
    with tempfile.TemporaryDirectory() as directory:
        library = build_counter(directory)
        script = os.path.join(directory, "step.py")
        with open(script, "w") as file:
            file.write(PYTORCH_STEP)
        timed_script = os.path.join(directory, "timed_step.py")
        with open(timed_script, "w") as file:
            file.write(PYTORCH_TIMED_STEP)
        rows = []
        for name, extra in configurations:
            if extra is None:
                measure = lambda r: peak([sys.executable, script, str(r), str(args.threads)], library, directory)
            else:
                measure = lambda r, extra=extra: peak(headroom_command(r, args.threads, extra), library, directory)
            resolution, cache = largest_fitting(measure, budget)
            points = sorted(cache.items())
            (r0, p0), (r1, p1) = points[0], points[-1]
            slope = (p1 - p0) / (r1 * r1 - r0 * r0)
            predicted = {gib: int(((gib * 2**30 - p0) / slope + r0 * r0) ** 0.5) for gib in (2, 4)}
            rows.append((name, extra, resolution, cache[resolution], predicted))
            print(f"{name}: {resolution} px fits ({cache[resolution] / 2**20:.0f} MiB); measured {points}", flush=True)

        # Step times: all three at the common size, the streamed one at its maximum too.
        times = {}
        for name, extra, resolution, _, _ in rows:
            if extra is None:
                times[name] = pytorch_step_seconds(timed_script, args.common, args.threads)
            else:
                times[name] = headroom_step_seconds(args.common, args.threads, extra)
        streamed_name, streamed_extra, streamed_max = rows[-1][0], rows[-1][1], rows[-1][2]
        at_max = headroom_step_seconds(streamed_max, args.threads, streamed_extra)

    base = rows[0][2]
    lines = [
        f"Largest square resolution whose resnet18 training step at micro-batch 1 fits {args.budget_gib:g} GiB (peak bytes "
        f"through libtorch's CPU allocator, same instrument on every side; fp32, {args.threads} threads), and the step time at "
        f"{args.common} px (the second step of a run, the first having created the optimiser state):",
        "",
        f"| configuration | largest resolution | peak there | pixels vs PyTorch | step at {args.common} px | "
        "predicted largest at 2 / 4 GiB (a line through two measured sizes, not a run) |",
        "|---|---|---|---|---|---|",
    ]
    for name, _, resolution, bytes_, predicted in rows:
        lines.append(f"| {name} | {resolution} px | {bytes_ / 2**20:.0f} MiB | {(resolution / base) ** 2:.2f}× "
                     f"| {times[name]:.2f} s | {predicted[2]} / {predicted[4]} px |")
    lines += [
        "",
        f"The streamed step at its maximum ({streamed_max} px): {at_max:.1f} s.",
        "",
        f"Command: `bench/.venv/bin/python bench/streaming.py --budget-gib {args.budget_gib:g} --rung {args.rung} "
        f"--threads {args.threads}`",
    ]
    table = "\n".join(lines)
    print(table)
    write_result("streaming.md", table)


if __name__ == "__main__":
    main()
