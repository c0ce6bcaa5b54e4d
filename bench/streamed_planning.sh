#!/usr/bin/env bash
# What planning a streamed resolution costs, in streamed steps: `headroom plan --verbose` at
# 4224 px under 2 GiB on four generated 4224² JPEGs (auto precision, 2 threads), every measured
# step summed by kind, against the verifying full-size streamed step of the same run. Writes
# bench/results/streamed-planning.md. Takes about 8 minutes on 2 cores; run it alone.
#   HEADROOM_BIN=path/to/release/headroom bash bench/streamed_planning.sh [RESOLUTION] [BUDGET]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${HEADROOM_BIN:-.build/debug/headroom}"  # as bench/common.py: the ratio is within one binary
RESOLUTION="${1:-4224}"
BUDGET="${2:-2GiB}"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
"$BIN" demo-data "$SCRATCH/data" --classes 2 --train-per-class 1 --val-per-class 1 \
  --width "$RESOLUTION" --height "$RESOLUTION" --format jpeg > /dev/null
start=$(date +%s.%N)
"$BIN" plan "$SCRATCH/data" --image-size "$RESOLUTION" --memory-budget "$BUDGET" --batch-size 2 --threads 2 --verbose \
  > "$SCRATCH/plan.log" 2>&1
wall=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
if grep -q avx512_bf16 /proc/cpuinfo; then cpu="$cpu, AVX-512 BF16"; elif grep -q avx512f /proc/cpuinfo; then cpu="$cpu, AVX-512"; else cpu="$cpu, AVX2"; fi
python3 - "$SCRATCH/plan.log" "$RESOLUTION" "$BUDGET" "$wall" "$cpu" > bench/results/streamed-planning.md <<'PY'
import re, sys
log, resolution, budget, wall, cpu = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5]
steps = []
for line in open(log):
    m = re.match(r"measured (\d+) px × (\d+), (.*): (.*) in ([\d.]+) s$", line.strip())
    if m:
        steps.append((int(m[1]), m[3], m[4], float(m[5])))
def kind(size, what, peak):
    streamed = what.startswith("streamed")
    if size == resolution and streamed and "out of memory" not in peak:
        return "the verifying full-size streamed step"
    if size == resolution:
        return "full-size steps that ran out of memory"
    if not streamed:
        return "plain steps at a small size (whether peaks repeat)"
    depth = what.split("through ")[1].split(" ")[0]
    return f"{depth}: steps at half and a quarter of the size"
totals = {}
for size, what, peak, seconds in steps:
    k = kind(size, what, peak)
    n, s = totals.get(k, (0, 0.0))
    totals[k] = (n + 1, s + seconds)
verify = [s for size, what, peak, s in steps if kind(size, what, peak).startswith("the verifying")]
chosen = next((l.strip() for l in open(log) if l.startswith(f"{resolution} px ")), "(no plan)")
print(f"`headroom plan DATA --image-size {resolution} --memory-budget {budget} --batch-size 2 --threads 2 --verbose` "
      f"(`bash bench/streamed_planning.sh`; four generated {resolution}² JPEGs, auto precision; {cpu}, alone on the machine):\n")
print("| steps | count | seconds |")
print("|---|---|---|")
for k, (n, s) in totals.items():
    print(f"| {k} | {n} | {s:.1f} |")
print(f"| the whole command | – | {wall:.1f} |\n")
if verify:
    print(f"Planning cost **{wall / verify[-1]:.2f} streamed steps** (the command's wall time over its verifying step's). The plan: `{' '.join(chosen.split())}`")
else:
    print(f"No full-size streamed step fitted. The plan: `{' '.join(chosen.split())}`")
PY
cat bench/results/streamed-planning.md
