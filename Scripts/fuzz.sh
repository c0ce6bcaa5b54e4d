#!/usr/bin/env bash
# libFuzzer on the readers of hostile files: the restricted unpickler, torch.save zip
# checkpoints, safetensors and TIFF (Sources/headroom-fuzz). Builds into .build-fuzz with
# -sanitize=fuzzer, seeds the corpus from the test fixtures (one selector byte in front of
# each: 0 pickle, 1 torch.save, 2 safetensors, 3 TIFF) and runs for SECONDS (default 180).
# A crash leaves its input as crash-*; replay it with: .build/debug/headroom-fuzz crash-…
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-180}"
# lld: gold trips over the fuzzer runtime's debug info when it reports anything.
swift build --scratch-path .build-fuzz --product headroom-fuzz -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING -Xswiftc -use-ld=lld
corpus=.build-fuzz/corpus
mkdir -p "$corpus"
fixtures=Tests/HeadroomFormatsTests/StateDictFiles/Fixtures
for file in "$fixtures"/*.pth "$fixtures"/*.pt; do
  { printf '\x01'; cat "$file"; } > "$corpus/torch-$(basename "$file")"
  # The pickle inside, for the unpickler alone.
  python3 - "$file" "$corpus/pickle-$(basename "$file")" <<'PY' || true
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    name = next(n for n in z.namelist() if n.endswith("data.pkl"))
    open(sys.argv[2], "wb").write(b"\x00" + z.read(name))
PY
done
for file in "$fixtures"/*.safetensors; do
  { printf '\x02'; cat "$file"; } > "$corpus/safetensors-$(basename "$file")"
done
for file in Tests/HeadroomTests/Data/Fixtures/*.tif; do
  { printf '\x03'; cat "$file"; } > "$corpus/tiff-$(basename "$file")"
done
.build-fuzz/debug/headroom-fuzz "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1
