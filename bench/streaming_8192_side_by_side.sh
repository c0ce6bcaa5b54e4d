#!/usr/bin/env bash
# #34's 8192² figure: one resnet18 step at micro-batch 1, BatchNorm training, fp32, streamed
# through layer3 in 32 bands, every libtorch allocation capped at 4 GiB (bench/alloc_counter.c:
# an allocation past the cap fails as out of memory), by today's binary (layer2's output held,
# the planner's choice where 4 GiB has room) and by an older one (OLD_BIN, built from the commit
# OLD_COMMIT names), one after the other on the same machine. Writes
# bench/results/streaming-8192.md. Takes about an hour on 2 cores; run it alone.
#   OLD_BIN=/path/to/old/headroom OLD_COMMIT=983b9b2 HEADROOM_BIN=.build/release/headroom \
#     bash bench/streaming_8192_side_by_side.sh
# With OLD_STOP_AT=F the older step is stopped once it has run F times today's step (the goal is
# 2×; an hour's run says no more than that it took longer), and reported as longer than that.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${HEADROOM_BIN:-.build/release/headroom}"
OLD_BIN="${OLD_BIN:?the older binary to compare against}"
OLD_COMMIT="${OLD_COMMIT:?the commit OLD_BIN was built from}"
NEW_COMMIT="$(git rev-parse --short HEAD)"
RESOLUTION="${RESOLUTION:-8192}"  # smaller for a quick check of the script itself
OUT="${OUT:-bench/results/streaming-8192.md}"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
cc -shared -fPIC -O2 -o "$SCRATCH/alloc_counter.so" bench/alloc_counter.c -ldl

# One step of binary $3 with extra options $4...: prints "seconds peak_mib wall_s", or
# "stopped - wall_s" when it ran past $2 seconds (0: no limit).
step() {
  local name="$1" limit="$2" bin="$3"; shift 3
  local start; start=$(date +%s)
  local status=0
  timeout "$limit" env ALLOC_COUNTER_LIMIT=$((4 << 30)) ALLOC_COUNTER_OUT="$SCRATCH/$name.peak" LD_PRELOAD="$SCRATCH/alloc_counter.so" \
    "$bin" benchmark-step --batch 1 --resolution "$RESOLUTION" --steps 1 --warm-up 0 --threads 2 --precision fp32 \
    --streaming layer3:32 "$@" > "$SCRATCH/$name.json" || status=$?
  local wall=$(( $(date +%s) - start ))
  if [ "$status" = 124 ]; then echo "stopped - $wall"; return; fi
  [ "$status" = 0 ] || { echo "$bin failed ($status)" >&2; exit 1; }
  local seconds; seconds=$(python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['seconds_per_step'][0]))" "$SCRATCH/$name.json")
  echo "$seconds $(( $(cat "$SCRATCH/$name.peak") >> 20 ))_MiB $wall"
}

read -r new_s new_peak new_wall < <(step new 0 "$BIN" --hold-from layer3)
new_peak="${new_peak/_/ }"
echo "today ($NEW_COMMIT), layer2's output held: ${new_s} s, ${new_peak}" >&2
limit=0
if [ -n "${OLD_STOP_AT:-}" ]; then limit=$(python3 -c "print(round($OLD_STOP_AT * $new_wall))"); fi
read -r old_s old_peak old_wall < <(step old "$limit" "$OLD_BIN")
old_peak="${old_peak/_/ }"
echo "older ($OLD_COMMIT): ${old_s} s, ${old_peak}, wall ${old_wall} s" >&2
if [ "$old_s" = stopped ]; then
  # Stopped by the limit: the step took longer than the whole process's wall time so far
  # less today's set-up (wall minus step), which is what the ratio uses.
  old_s="> $(( old_wall - (new_wall - new_s) ))"; old_peak="not read (stopped)"
  ratio="more than $(python3 -c "print(f'{($old_wall - ($new_wall - $new_s)) / $new_s:.2f}')")"
else
  ratio=$(python3 -c "print(f'{$old_s / $new_s:.2f}')")
fi
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
if grep -q avx512_bf16 /proc/cpuinfo; then cpu="$cpu, AVX-512 BF16"; elif grep -q avx512f /proc/cpuinfo; then cpu="$cpu, AVX-512"; else cpu="$cpu, AVX2"; fi
cat > "$OUT" <<TABLE
One resnet18 step at ${RESOLUTION}² and micro-batch 1, BatchNorm training, fp32, streamed through layer3 in 32 bands, every libtorch allocation capped at 4 GiB (\`bash bench/streaming_8192_side_by_side.sh\`: \`headroom benchmark-step --batch 1 --resolution ${RESOLUTION} --steps 1 --warm-up 0 --threads 2 --precision fp32 --streaming layer3:32\`, bench/alloc_counter.c); ${cpu}, 2 threads, the two binaries one after the other, alone on the machine:

| binary | step | peak through libtorch's allocator (cap 4096 MiB) | wall |
|---|---|---|---|
| ${OLD_COMMIT} (when #34 was filed) | ${old_s} s | ${old_peak} | ${old_wall} s |
| ${NEW_COMMIT}, \`--hold-from layer3\` | ${new_s} s | ${new_peak} | ${new_wall} s |

Today's step is **${ratio}×** faster. Rerun: \`OLD_BIN=… OLD_COMMIT=${OLD_COMMIT}${OLD_STOP_AT:+ OLD_STOP_AT=$OLD_STOP_AT} HEADROOM_BIN=… bash bench/streaming_8192_side_by_side.sh\`.
TABLE
cat "$OUT"
