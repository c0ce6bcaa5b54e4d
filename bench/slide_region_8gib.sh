#!/usr/bin/env bash
# #33's figure: a 16384² region (a whole-slide crop) trained at micro-batch 1 with BatchNorm
# training, every libtorch allocation capped at 8 GiB (bench/alloc_counter.c: an allocation past
# the cap fails as out of memory), one step, resnet18, bf16 (what --precision auto picks on a CPU
# with native bf16), streamed through layer3 in 64 bands with layer2's output held. Writes
# bench/results/slides-8gib.md. Takes about 50 minutes on 2 cores; run it alone.
#   HEADROOM_BIN=.build/release/headroom bash bench/slide_region_8gib.sh [RESOLUTION] [BANDS]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${HEADROOM_BIN:-.build/release/headroom}"
RESOLUTION="${1:-16384}"
BANDS="${2:-64}"
SCRATCH="$(mktemp -d)"
trap 'kill "${WATCH:-0}" 2>/dev/null || true; rm -rf "$SCRATCH"' EXIT
cc -shared -fPIC -O2 -o "$SCRATCH/alloc_counter.so" bench/alloc_counter.c -ldl
start=$(date +%s)
ALLOC_COUNTER_LIMIT=$((8 << 30)) ALLOC_COUNTER_OUT="$SCRATCH/peak" LD_PRELOAD="$SCRATCH/alloc_counter.so" \
  "$BIN" benchmark-step --batch 1 --resolution "$RESOLUTION" --steps 1 --warm-up 0 --threads 2 --precision bf16 \
  --streaming "layer3:$BANDS" --hold-from layer3 > "$SCRATCH/out.json" &
STEP=$!
# The resident set beside the allocator's count: glibc keeps freed heap, libtorch its code.
( while kill -0 "$STEP" 2>/dev/null; do awk '/VmRSS/ {print $2}' "/proc/$STEP/status" >> "$SCRATCH/rss" 2>/dev/null || true; sleep 30; done ) &
WATCH=$!
wait "$STEP"
wall=$(( $(date +%s) - start ))
seconds=$(python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['seconds_per_step'][0]))" "$SCRATCH/out.json")
peak=$(( $(cat "$SCRATCH/peak") >> 20 ))
rss=$(( $(sort -n "$SCRATCH/rss" | tail -1) >> 10 ))
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
if grep -q avx512_bf16 /proc/cpuinfo; then cpu="$cpu, AVX-512 BF16"; elif grep -q avx512f /proc/cpuinfo; then cpu="$cpu, AVX-512"; else cpu="$cpu, AVX2"; fi
cat > bench/results/slides-8gib.md <<TABLE
A ${RESOLUTION}² region at micro-batch 1 under 8 GiB, BatchNorm training (\`bash bench/slide_region_8gib.sh\`: \`headroom benchmark-step --batch 1 --resolution ${RESOLUTION} --steps 1 --warm-up 0 --threads 2 --precision bf16 --streaming layer3:${BANDS} --hold-from layer3\`, every libtorch allocation capped at 8 GiB by bench/alloc_counter.c; ${cpu}, 2 threads, alone on the machine):

| region | step | peak through libtorch's allocator (cap 8192 MiB) | peak resident set (sampled every 30 s) |
|---|---|---|---|
| ${RESOLUTION}² | ${seconds} s (wall ${wall} s) | ${peak} MiB | ${rss} MiB |
TABLE
cat bench/results/slides-8gib.md
