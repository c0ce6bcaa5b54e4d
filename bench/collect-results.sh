#!/usr/bin/env bash
# Gathers bench/results/*.md into one page with the machine and the commands.
cd "$(dirname "$0")/.."

# section TITLE SCRIPT RESULT...: a heading naming the script, then each result file it wrote.
section() {
  local title="$1" script="$2"
  shift 2
  echo
  echo "## $title (\`bench/$script\`)"
  echo
  cat "bench/results/$1" 2>/dev/null || echo "(not run)"
  shift
  for extra in "$@"; do
    if [ -f "bench/results/$extra" ]; then
      echo
      cat "bench/results/$extra"
    fi
  done
}

echo "# Benchmark results"
echo
echo "Gathered on $(date -u +%Y-%m-%d) from the last run of each script \`make bench\` runs (a section is as old as its script's last run), on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, unless a section names another CPU."
echo "PyTorch peer: torch 2.11.0 + torchvision 0.26.0 (the libtorch Headroom links). Rerun: \`make bench\`."
section "Memory planner" memory_planner.py memory_planner.md
section "Training step vs PyTorch" train_step.py train_step.md train_step_channels_last.md
section "Loader vs torchvision + PIL" loader.py loader.md
section "Full-depth samples vs tifffile / PIL + numpy" samples.py samples.md
section "Whole-slide training regions vs openslide-python + PIL" slides.py slides.md slides-8gib.md
section "One epoch end to end vs the same recipe in PyTorch" epoch.py epoch.md
section "Activation checkpointing vs PyTorch eager" checkpointing.py checkpointing.md
section "Streaming vs PyTorch eager" streaming.py streaming-0.5gib.md streaming-2gib.md streaming-4gib.md
section "Streaming's price: held maps, predicted against measured" streaming_price.py streaming-price.md streaming-8192.md streamed-planning.md
section "Where a step's time goes, layer by layer (the planner's time weights)" layer_costs.py layer-costs.md
section "The halve-the-batch-on-OOM recipe vs Headroom under one memory limit" oom_recipe.py oom_recipe.md
section "Data parallel, 1 vs 2 processes, and the gradient all-reduce" distributed.py distributed.md
section "Default optimiser settings vs torchvision's reference recipe" defaults.py defaults.md
section "ONNX export in onnxruntime vs headroom predict" onnx_export.py onnx.md
section "torchvision's ResNet family: train, export, strict load, ONNX" family.py family.md
section "The reference recipe's knobs vs the same knobs in PyTorch" recipe.py recipe.md recipe-seeds.md recipe-digits.md recipe-seeds-digits.md recipe-notes.md
