#!/usr/bin/env bash
# Builds what bench/gpu/run.sh carries to a CUDA machine that has PyTorch but no Swift:
# a release headroom with the Swift runtime linked statically, and the two Debian image
# libraries it loads. libtorch itself is the GPU machine's own (run.sh points at it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bash Scripts/bootstrap.sh
swift build -c release --static-swift-stdlib --product headroom
carry="$root/bench/gpu/carry"
rm -rf "$carry" && mkdir -p "$carry/lib"
# Stripped: the device tool carries at most 64 MiB.
strip -o "$carry/headroom" "$(swift build -c release --show-bin-path)/headroom"
for library in libturbojpeg.so.0 libpng16.so.16; do
  cp -L "$(ldconfig -p | awk -v name="$library" '$1 == name { print $NF; exit }')" "$carry/lib/"
done
cp bench/train_step.py bench/common.py bench/gpu/run.sh "$carry/"
echo "built $carry: $(du -sh "$carry" | cut -f1)"
