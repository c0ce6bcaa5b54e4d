#!/usr/bin/env python3
"""Streaming (issue: the memory ladder's top rung), against PyTorch eager, same run.

1. The largest square resolution (a multiple of 32) whose resnet18 training step at
   micro-batch 1 fits a memory budget: PyTorch eager and Headroom with every segment
   checkpointed (same instrument and search as bench/checkpointing.py: peak bytes through
   libtorch's CPU allocator, bench/alloc_counter.c, two steps at batch 1, a line through two
   sizes, then bisection with real runs).
2. Headroom streamed (a rung: a stage and a band count, layer2:8, or a band height in input
   rows, layer3@256, as the planner's ladder picks them): searched the same way, or, with
   --at RES, one run at RES. A streamed step at gigapixel-class sizes takes many minutes on
   a small CPU, so --at runs one step (its first) and adds the optimiser's momentum (one
   float32 per parameter), which a second step would hold throughout; the table says so.
3. Step time of each at one size all of them fit, and of the streamed step at its maximum.

    bench/.venv/bin/python bench/streaming.py [--budget-gib 0.5] [--rung layer2:16] [--at 8192] [--threads 2]

Streamed steps cost several plain steps (each BatchNorm's statistics pass recomputes what
comes before it), so a streamed search at 2 or 4 GiB takes hours on two cores.
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


def bands(rung, resolution):
    """benchmark-step's --streaming for a rung at a resolution: layer2:8 as it is; layer3@256
    as the planner's ladder cuts it (bands of at most 256 input rows, at least 16; 512 rows:
    at least 8; 128: at least 32)."""
    if "@" not in rung:
        return rung
    stage, rows = rung.split("@")
    minimum = {512: 8, 256: 16, 128: 32}.get(int(rows), 8)
    return f"{stage}:{max(minimum, -(-resolution // int(rows)))}"


def headroom_command(resolution, threads, extra, steps=1, warm_up=1):
    extra = [bands(e, resolution) if e.startswith("layer") or e == "stem" else e for e in extra]
    return [HEADROOM, "benchmark-step", "--batch", "1", "--resolution", str(resolution), "--steps", str(steps),
            "--warm-up", str(warm_up), "--threads", str(threads)] + extra


def pytorch_step_seconds(script, resolution, threads):
    out = subprocess.run([sys.executable, script, str(resolution), str(threads)], check=True, capture_output=True, text=True).stdout
    return float(out.split()[-1])


def headroom_step_seconds(resolution, threads, extra):
    out = subprocess.run(headroom_command(resolution, threads, extra), check=True, capture_output=True, text=True).stdout
    return json.loads(out)["seconds_per_step"][0]


RESNET18_PARAMETERS = 11_689_512


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget-gib", type=float, default=0.5)
    parser.add_argument("--rung", default="layer2:16", help="layer2:16 (a stage and bands) or layer3@256 (bands of 256 input rows)")
    parser.add_argument("--at", type=int, default=None, help="the streamed side: one run at this resolution instead of a search")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--common", type=int, default=768, help="the resolution whose step time all three report")
    args = parser.parse_args()
    budget = int(args.budget_gib * 2**30)
    stage = args.rung.split(":")[0].split("@")[0]
    cut = f"in {args.rung.split(':')[1]} bands" if ":" in args.rung else f"in bands of {args.rung.split('@')[1]} input rows"
    streamed_name = f"Headroom, streamed through {stage} {cut}"
    configurations = [
        ("PyTorch eager", None),
        ("Headroom, every segment checkpointed", ["--activation-checkpointing", "on"]),
        (streamed_name, ["--streaming", args.rung]),
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
        at_max = None
        for name, extra in configurations:
            if extra is None:
                measure = lambda r: peak([sys.executable, script, str(r), str(args.threads)], library, directory)
            else:
                measure = lambda r, extra=extra: peak(headroom_command(r, args.threads, extra), library, directory)
            if name == streamed_name and args.at:
                # One step: its peak, plus the momentum a second step would hold, and its time.
                command = headroom_command(args.at, args.threads, extra, steps=1, warm_up=0)
                env = dict(os.environ, LD_PRELOAD=library, ALLOC_COUNTER_OUT=os.path.join(directory, "peak"))
                result = subprocess.run(command, env=env, capture_output=True, text=True)
                if result.returncode != 0:
                    sys.exit(f"headroom failed: {result.stderr[-2000:]}")
                with open(os.path.join(directory, "peak")) as file:
                    bytes_ = int(file.read()) + 4 * RESNET18_PARAMETERS
                at_max = json.loads(result.stdout)["seconds_per_step"][0]
                verdict = "fits" if bytes_ <= budget else "does not fit"
                print(f"{name}: {args.at} px {verdict} ({bytes_ / 2**20:.0f} MiB, {at_max:.0f} s)", flush=True)
                rows.append((name, extra, args.at, bytes_, None, f"≥ {args.at} px (one run there, not searched)"
                             if bytes_ <= budget else f"< {args.at} px ({bytes_ / 2**20:.0f} MiB there)"))
                continue
            resolution, cache = largest_fitting(measure, budget)
            points = sorted(cache.items())
            (r0, p0), (r1, p1) = points[0], points[-1]
            slope = (p1 - p0) / (r1 * r1 - r0 * r0)
            predicted = {gib: int(((gib * 2**30 - p0) / slope + r0 * r0) ** 0.5) for gib in (2, 4)}
            rows.append((name, extra, resolution, cache[resolution], predicted, f"{resolution} px"))
            print(f"{name}: {resolution} px fits ({cache[resolution] / 2**20:.0f} MiB); measured {points}", flush=True)

        # Step times: all three at the common size, the streamed one at its maximum too.
        times = {}
        for name, extra, *_ in rows:
            if extra is None:
                times[name] = pytorch_step_seconds(timed_script, args.common, args.threads)
            else:
                times[name] = headroom_step_seconds(args.common, args.threads, extra)
        streamed_extra, streamed_max = rows[-1][1], rows[-1][2]
        if at_max is None:
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
    for name, _, resolution, bytes_, predicted, largest in rows:
        guess = f"{predicted[2]} / {predicted[4]} px" if predicted else "–"
        lines.append(f"| {name} | {largest} | {bytes_ / 2**20:.0f} MiB | {(resolution / base) ** 2:.2f}× "
                     f"| {times[name]:.2f} s | {guess} |")
    lines += [
        "",
        f"The streamed step at {streamed_max} px: {at_max:.1f} s"
        + (f" (its first step; the peak adds the {4 * RESNET18_PARAMETERS / 2**20:.0f} MiB of momentum a second step holds)."
           if args.at else "."),
        "",
        f"Command: `bench/.venv/bin/python bench/streaming.py --budget-gib {args.budget_gib:g} --rung {args.rung} "
        + (f"--at {args.at} " if args.at else "") + f"--threads {args.threads}`",
    ]
    table = "\n".join(lines)
    print(table)
    write_result(f"streaming-{args.budget_gib:g}gib.md", table)


if __name__ == "__main__":
    main()
