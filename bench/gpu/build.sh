#!/usr/bin/env bash
# Builds what bench/gpu/run.sh carries to a CUDA machine that has PyTorch but no Swift:
# a release headroom with the Swift runtime linked statically (xz-compressed: the device
# tool carries at most 64 MiB), and every Debian library it loads beyond the C and C++
# runtimes (the image codecs and what they pull in). libtorch itself is the GPU machine's
# own (run.sh points at it). The NCCL plugin (libHeadroomNCCL.so) goes beside the binary.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bash Scripts/bootstrap.sh
swift build -c release --static-swift-stdlib --product headroom
swift build -c release --static-swift-stdlib --product HeadroomNCCL
carry="$root/bench/gpu/carry"
rm -rf "$carry" && mkdir -p "$carry/lib"
binary="$(swift build -c release --show-bin-path)/headroom"
strip -o "$carry/headroom" "$binary"
strip -o "$carry/libHeadroomNCCL.so" "$(dirname "$binary")/libHeadroomNCCL.so"
# Only the system's libraries: libtorch and the CUDA runtime (found here through the
# binary's run path into .deps) are the GPU machine's own, from its PyTorch.
ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\/(usr\/)?lib\// { print $3 }' | while read -r library; do
  case "$(basename "$library")" in
    libc.so* | libm.so* | libpthread.so* | libdl.so* | librt.so* | libutil.so* | ld-linux* | libstdc++.so* | libgcc_s.so*) ;;
    *) cp -L "$library" "$carry/lib/" ;;
  esac
done
xz -T0 -6 "$carry/headroom"  # run.sh unpacks it
cp bench/train_step.py bench/common.py bench/gpu/run.sh "$carry/"
echo "built $carry: $(du -sh "$carry" | cut -f1)"
