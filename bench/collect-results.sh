#!/usr/bin/env bash
# Gathers bench/results/*.md into one page with the machine and the commands.
cd "$(dirname "$0")/.."
echo "# Benchmark results"
echo
echo "Gathered on $(date -u +%Y-%m-%d) from the last run of each script \`make bench\` runs (a section is as old as its script's last run), on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB."
echo "PyTorch peer: torch 2.11.0 + torchvision 0.26.0 (the libtorch Headroom links). Rerun: \`make bench\`."
echo
echo "## Memory planner (\`bench/memory_planner.py\`)"
echo
cat bench/results/memory_planner.md 2>/dev/null || echo "(not run)"
echo
echo "## Training step vs PyTorch (\`bench/train_step.py\`)"
echo
cat bench/results/train_step.md 2>/dev/null || echo "(not run)"
if [ -f bench/results/train_step_channels_last.md ]; then
  echo
  cat bench/results/train_step_channels_last.md
fi
echo
echo "## Loader vs torchvision + PIL (\`bench/loader.py\`)"
echo
cat bench/results/loader.md 2>/dev/null || echo "(not run)"
echo
echo "## One epoch end to end vs the same recipe in PyTorch (\`bench/epoch.py\`)"
echo
cat bench/results/epoch.md 2>/dev/null || echo "(not run)"
echo
echo "## Activation checkpointing vs PyTorch eager (\`bench/checkpointing.py\`)"
echo
cat bench/results/checkpointing.md 2>/dev/null || echo "(not run)"
echo
echo "## Data parallel, 1 vs 2 processes, and the gradient all-reduce (\`bench/distributed.py\`)"
echo
cat bench/results/distributed.md 2>/dev/null || echo "(not run)"
