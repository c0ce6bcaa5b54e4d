#!/usr/bin/env python3
"""Streaming's price (issue: streaming at a practical price), same run: resnet18 at micro-batch 1,
fp32, one resolution, streamed through a stage in one band count, with each held-map rung
the planner can choose, against Headroom's and PyTorch's eager steps; and `--freeze-bn`
(StreamingCNN's choice: BatchNorm on its running statistics, no statistics passes) beside it.

Each row also holds the planner's prediction (`benchmark-step` prints the extra compute the
plan predicts, from multiply-adds with the halos and the statistics passes) against the
measured ratio: the plan says what a rung costs before a step runs.

    bench/.venv/bin/python bench/streaming_price.py [--resolution 1024] [--rung layer2:4] [--threads 2]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from common import HEADROOM, cpu_description, write_result
from streaming import PYTORCH_TIMED_STEP


def headroom(resolution, threads, steps, extra):
    """Median seconds of `steps` timed steps after one untimed, and the predicted overhead."""
    command = [HEADROOM, "benchmark-step", "--batch", "1", "--resolution", str(resolution), "--steps", str(steps),
               "--warm-up", "1", "--threads", str(threads)] + extra
    result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return statistics.median(result["seconds_per_step"]), result["predicted_overhead"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--rung", default="layer2:4", help="a stage and its bands, as benchmark-step's --streaming")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    stage, bands = args.rung.split(":")
    streamed = ["--streaming", args.rung]
    configurations = [
        # name, extra options, the eager row its ratio is taken against
        ("Headroom eager", [], None),
        (f"streamed through {stage} in {bands} bands", streamed, "Headroom eager"),
        (f"… {stage}'s input held (`--hold-from {stage}`)", streamed + ["--hold-from", stage], "Headroom eager"),
        ("… every stage's input held (`--hold-stages`)", streamed + ["--hold-stages"], "Headroom eager"),
        ("… every block's output held (`--hold-blocks`)", streamed + ["--hold-blocks"], "Headroom eager"),
        ("Headroom eager, `--freeze-bn`", ["--freeze-bn"], None),
        (f"streamed through {stage} in {bands} bands, `--freeze-bn`", streamed + ["--freeze-bn"], "Headroom eager, `--freeze-bn`"),
    ]
    with tempfile.TemporaryDirectory() as directory:
        script = os.path.join(directory, "timed_step.py")
        with open(script, "w") as file:
            file.write(PYTORCH_TIMED_STEP)
        out = subprocess.run([sys.executable, script, str(args.resolution), str(args.threads)], check=True, capture_output=True, text=True)
        pytorch = float(out.stdout.split()[-1])
    print(f"PyTorch eager: {pytorch:.2f} s", flush=True)
    measured = {}
    lines = [
        f"resnet18, micro-batch 1, {args.resolution} px, fp32, {args.threads} threads, {cpu_description()}: the median of "
        f"{args.steps} timed steps after one untimed (PyTorch eager: its second step, {pytorch:.2f} s). Predicted: 1 + the "
        "extra compute `plan` predicts for the rung (multiply-adds, halos and statistics passes included).",
        "",
        "| configuration | step | vs its eager step (measured) | predicted | prediction's error | vs PyTorch eager |",
        "|---|---|---|---|---|---|",
    ]
    for name, extra, eager in configurations:
        seconds, overhead = headroom(args.resolution, args.threads, args.steps, extra)
        measured[name] = seconds
        print(f"{name}: {seconds:.2f} s, predicted overhead {overhead:.3f}", flush=True)
        if eager is None:
            lines.append(f"| {name} | {seconds:.2f} s | 1 | – | – | {seconds / pytorch:.2f}× |")
            continue
        ratio = seconds / measured[eager]
        predicted = 1 + overhead
        lines.append(f"| {name} | {seconds:.2f} s | **{ratio:.2f}×** | {predicted:.2f}× | {100 * (predicted - ratio) / ratio:+.0f} % "
                     f"| {seconds / pytorch:.2f}× |")
    lines += ["", f"Command: `bench/.venv/bin/python bench/streaming_price.py --resolution {args.resolution} --rung {args.rung} "
              f"--threads {args.threads} --steps {args.steps}` (with `HEADROOM_BIN` a release build)"]
    write_result("streaming-price.md", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
