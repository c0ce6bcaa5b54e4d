#!/usr/bin/env python3
"""The memory planner against the truth, for resnet18 on CPU (issue: Memory).

For each resolution: plan with `headroom plan --json` (timed), then find the true largest
micro-batch by bisection with real steps (`headroom plan --probe-batch N`: one training
step at N under the same budget, as the planner measures it), and measure the peak of a
step at the size the plan really runs. No PyTorch here: the planner is Headroom's own.

    python3 bench/memory_planner.py [--budget 1.5GiB] [--batch-size 32] [--resolutions 128,224,384,512]

Prints a Markdown table (also written to bench/results/memory_planner.md).
"""
import argparse
import json
import os
import subprocess
import sys
import time

from common import HEADROOM, ROOT, write_result


def headroom(*args):
    result = subprocess.run([HEADROOM, *args], capture_output=True, text=True)
    return result.returncode, result.stdout, result.stderr


def parse_bytes(text):
    units = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30}
    for suffix, scale in units.items():
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * scale)
    return int(text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", default="1.5GiB")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--resolutions", default="128,224,384,512")
    parser.add_argument("--data", default=os.path.join(ROOT, "runs", "bench-data"))
    args = parser.parse_args()
    headroom("demo-data", args.data, "--train-per-class", "4", "--val-per-class", "1")
    common = [args.data, "--batch-size", str(args.batch_size), "--memory-budget", args.budget, "--device", "cpu", "--threads", "2", "--precision", "fp32"]
    target = parse_bytes(args.budget) * 0.9

    rows = []
    for resolution in [int(r) for r in args.resolutions.split(",")]:
        options = common + ["--image-size", str(resolution)]
        start = time.time()
        code, out, err = headroom("plan", *options, "--json")
        planning_seconds = time.time() - start
        if code != 0:
            rows.append((resolution, "impossible", err.strip()))
            continue
        plan = json.loads(out)["resolutions"][0]

        def fits(batch, cache={}):
            if batch not in cache:
                _, out, _ = headroom("plan", *options, "--probe-batch", str(batch))
                peak = json.loads(out)["peak_bytes"]
                cache[batch] = peak if peak is not None and peak <= target else None
            return cache[batch]

        low, high = 0, args.batch_size  # largest fitting size in (low, high]
        if fits(high):
            low = high
        while high - low > 1 and low != high:
            middle = (low + high) // 2
            if fits(middle):
                low = middle
            else:
                high = middle
        largest_run = max(plan["micro_batch_sizes"])
        measured = fits(largest_run)
        rows.append((resolution, plan, low, largest_run, measured, planning_seconds, len(plan["measurements"])))

    lines = [
        f"resnet18, CPU fp32 (default layout: channels-last on AVX-512), effective batch {args.batch_size}, budget {args.budget} (10% headroom), 2 threads",
        "",
        "| resolution | chosen cap | runs as | true largest | predicted peak | measured peak | error | planning steps | planning time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if row[1] == "impossible":
            lines.append(f"| {row[0]} px | — | — | — | {row[2]} | | | | |")
            continue
        resolution, plan, truth, largest_run, measured, seconds, steps = row
        predicted = plan["predicted_peak_bytes"]
        error = f"{(predicted - measured) / measured * 100:+.1f}%" if measured else "n/a"
        lines.append(
            f"| {resolution} px | {plan['micro_batch']} | {'+'.join(map(str, plan['micro_batch_sizes']))} | {truth} | "
            f"{predicted / 2**20:.0f} MiB | {measured / 2**20 if measured else float('nan'):.0f} MiB | {error} | {steps} (+1 warm-up) | {seconds:.1f} s |")
    text = "\n".join(lines)
    print(text)
    write_result("memory_planner.md", text)


if __name__ == "__main__":
    sys.exit(main())
