#!/usr/bin/env bash
# The CUDA checks, in one prepared script for a machine with PyTorch 2.11 and a GPU but
# no Swift toolchain. Run from the folder bench/gpu/build.sh filled (carry/):
#
#   TORCH_VENV=/opt/torch/.venv bash run.sh            # on the GPU machine, < 10 minutes
#   TORCH_VENV=bench/.venv bash run.sh --dry-run       # here: the same steps, CPU, small
#
# It measures: training-step samples/s at 512 px in bf16 + channels-last against PyTorch
# eager on the same GPU; the planner's predicted peak against the peak training measured;
# an OOM recovery under a forced budget; the gradient all-reduce through NCCL at world size 1.
# Results go to $OUT (default ./results).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dry_run=false
[ "${1:-}" = "--dry-run" ] && dry_run=true
venv="${TORCH_VENV:-/opt/torch/.venv}"
python="$venv/bin/python"
torch_dir="$("$python" -c 'import torch, os; print(os.path.dirname(torch.__file__))')"
export LD_LIBRARY_PATH="$here/lib:$torch_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export HEADROOM="$here/headroom"
if [ ! -x "$HEADROOM" ]; then  # build.sh carries it xz-compressed; Python's lzma unpacks it anywhere
  "$python" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
    "$HEADROOM.xz" "$HEADROOM"
  chmod +x "$HEADROOM"
fi
out="${OUT:-$here/results}"
mkdir -p "$out"
export HEADROOM_BENCH_RESULTS="$out"

if $dry_run; then
  device=cpu; precision=fp32; size=224; batch=16; steps=2; budget=350MiB; threads=2; workers=2; images=8
else
  device=cuda; precision=bf16; size=512; batch=128; steps=10; budget=4GiB; threads=16; workers=16; images=96
fi
layout=(--channels-last)

echo "== doctor"
"$HEADROOM" doctor | tee "$out/doctor.txt"

echo "== training step vs PyTorch eager ($device, $precision, channels-last, ${batch}x${size})"
if "$python" -c 'import torchvision' 2>/dev/null; then
  "$python" "$here/train_step.py" --device "$device" --precision "$precision" --channels-last \
    --configs "${batch}x${size}" --repeats 2 --steps "$steps" --threads "$threads" --output gpu_train_step.md | tee "$out/train_step.txt"
else
  echo "torchvision is not installed in $venv: Headroom's side only" | tee "$out/train_step.txt"
  "$HEADROOM" benchmark-step --device "$device" --precision "$precision" --channels-last --batch "$batch" \
    --resolution "$size" --steps "$steps" | tee -a "$out/train_step.txt"
fi

data="$out/data"
"$HEADROOM" demo-data "$data" --train-per-class "$images" --val-per-class 4 --width 1024 --height 768 > /dev/null
common=("$data" --image-size "$size" --batch-size "$batch" --device "$device" --precision "$precision" "${layout[@]}"
        --workers "$workers" --memory-budget "$budget")

echo "== the planner's prediction against training"
"$HEADROOM" plan "${common[@]}" --json | tee "$out/plan.json"
rm -rf "$out/run-planned"
"$HEADROOM" train "${common[@]}" --epochs 1 --out "$out/run-planned" | tail -4
"$python" - "$out/plan.json" "$out/run-planned/metrics.jsonl" <<'PY' | tee "$out/prediction.txt"
import json, sys
plan = json.load(open(sys.argv[1]))["resolutions"][0]
steps = [json.loads(l) for l in open(sys.argv[2]) if '"type": "step"' in l or '"type":"step"' in l]
measured = max(s["peak_bytes"] for s in steps)
print(f"micro-batch {plan['micro_batch']} x {plan['accumulation']}: predicted {plan['predicted_peak_bytes'] / 2**30:.2f} GiB, "
      f"measured {measured / 2**30:.2f} GiB in training ({(plan['predicted_peak_bytes'] - measured) / measured * 100:+.1f}%)")
PY

echo "== OOM recovery: the whole batch forced as one micro-batch under the budget"
rm -rf "$out/run-forced"
"$HEADROOM" train "${common[@]}" --epochs 1 --micro-batch "$batch" --out "$out/run-forced" | grep -E "out of memory|done|trained|best" | tee "$out/recovery.txt"
grep -c '"type":"oom"\|"type": "oom"' "$out/run-forced/metrics.jsonl" | sed 's/^/oom events: /' | tee -a "$out/recovery.txt"
echo "== the gradient all-reduce at world size 1: NCCL on the GPU (Gloo in the dry run)"
backend=nccl
$dry_run && backend=gloo
"$HEADROOM" benchmark-allreduce --nproc-per-node 1 --master-port 29517 --device "$device" --dist-backend "$backend" \
  --iterations 10 | tee "$out/allreduce.txt"
echo "results in $out"
