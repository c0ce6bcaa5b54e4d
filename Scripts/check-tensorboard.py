#!/usr/bin/env python3
"""Checks that TensorBoard itself reads what TensorBoardWriter writes.

Runs the Swift test that writes an event file (keeping its output), then loads the
file with TensorBoard's EventAccumulator and compares tags, steps and values with the
scalars the test wrote (SyntheticRun.tensorBoardScalars: steps 1...20).

Usage: Scripts/check-tensorboard.py   (with a Python that has `tensorboard` installed)
"""
import glob
import math
import os
import subprocess
import sys
import tempfile

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
keep = tempfile.mkdtemp(prefix="headroom-tensorboard-")
subprocess.run(
    ["swift", "test", "--filter", "TensorBoardWriterTests/writtenScalarsReadBack"],
    cwd=package, env={**os.environ, "HEADROOM_KEEP_OUTPUT": keep}, check=True,
    stdout=subprocess.DEVNULL)

files = glob.glob(os.path.join(keep, "tensorboard-writer", "tensorboard", "events.out.tfevents.*"))
if len(files) != 1:
    sys.exit(f"expected one event file, found {files}")

# The values SyntheticRun.tensorBoardScalars writes, rounded to float32 as the file stores them.
expected = {
    "loss/train": [(step, 2.5 / step) for step in range(1, 21)],
    "accuracy/val_top1": [(step, step / 25) for step in range(1, 21)],
    "lr": [(step, 0.1 * 0.9**step) for step in range(1, 21)],
}

accumulator = EventAccumulator(files[0])
accumulator.Reload()
tags = sorted(accumulator.Tags()["scalars"])
if tags != sorted(expected):
    sys.exit(f"tags {tags}, expected {sorted(expected)}")
for tag, points in expected.items():
    events = accumulator.Scalars(tag)
    got = [(event.step, event.value) for event in events]
    if [step for step, _ in got] != [step for step, _ in points]:
        sys.exit(f"{tag}: steps {[s for s, _ in got]}")
    for (step, value), (_, want) in zip(got, points):
        if not math.isclose(value, want, rel_tol=1e-6):
            sys.exit(f"{tag} step {step}: {value}, expected {want}")
    if any(event.wall_time != 1_700_000_000 + event.step for event in events):
        sys.exit(f"{tag}: wrong wall times")
print(f"OK: {files[0]}: TensorBoard reads {len(tags)} tags x 20 steps with the expected values and wall times")
