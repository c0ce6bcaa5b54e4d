#!/usr/bin/env bash
# The test suite again under instruction sets below this machine's best, to show that it
# passes on any x86-64 (a CI machine or a user's may have AVX2 only, or less): libtorch's
# own kernels (ATEN_CPU_CAPABILITY), oneDNN's convolutions (ONEDNN_MAX_CPU_ISA) and MKL's
# BLAS (MKL_ENABLE_INSTRUCTIONS) each forced down. Before each run it checks that the
# setting really took effect in a headroom process; after it, it prints each comparison's
# worst distance from its reference against its bound (the margin).
# Usage: Scripts/test-portability.sh [swift test --filter pattern]   (after `swift build --build-tests`)
set -euo pipefail
cd "$(dirname "$0")/.."
headroom=.build/debug/headroom
filter=("$@")
[ ${#filter[@]} -gt 0 ] && filter=(--filter "${filter[@]}")

# name  ATEN_CPU_CAPABILITY  ONEDNN_MAX_CPU_ISA  MKL_ENABLE_INSTRUCTIONS  what doctor and oneDNN must report
settings=(
  "generic default SSE41 SSE4_2 DEFAULT SSE4.1"
  "avx2 avx2 AVX2 AVX2 AVX2 AVX2"
)
margins_dir="$(mktemp -d)"
trap 'rm -rf "$margins_dir"' EXIT
# What failed, printed again at the very end: CI shows only the last lines of a run.
failures="$margins_dir/failures.txt"
status=0
# A setting that is this CPU's own best already ran in `make test`: running it again proves nothing.
native="$("$headroom" doctor | sed -n 's/^ *cpu kernels *//p')"
for setting in "${settings[@]}"; do
  read -r name aten onednn mkl expect_aten expect_onednn <<<"$setting"
  if [ "$native" = "$expect_aten" ]; then
    echo "== $name: skipped, this CPU's own kernels are $native (make test ran them)"
    continue
  fi
  export ATEN_CPU_CAPABILITY="$aten" ONEDNN_MAX_CPU_ISA="$onednn" MKL_ENABLE_INSTRUCTIONS="$mkl"
  echo "== $name: ATEN_CPU_CAPABILITY=$aten ONEDNN_MAX_CPU_ISA=$onednn MKL_ENABLE_INSTRUCTIONS=$mkl"
  kernels="$("$headroom" doctor | sed -n 's/^ *cpu kernels *//p')"
  isa="$(ONEDNN_VERBOSE=1 "$headroom" benchmark-step --batch 1 --resolution 32 --steps 1 --warm-up 0 | grep -m1 -o 'isa:[^,]*' || true)"
  echo "   libtorch kernels: $kernels; oneDNN $isa"
  if [[ "$kernels" != *"$expect_aten"* || "$isa" != *"$expect_onednn"* ]]; then
    echo "test-portability: the setting did not take effect (expected $expect_aten and $expect_onednn)" >&2
    exit 1
  fi
  margins="$margins_dir/$name.tsv"
  log="$margins_dir/$name.log"
  if ! HEADROOM_TEST_MARGINS="$margins" swift test --skip-build --no-parallel "${filter[@]}" >"$log" 2>&1; then
    status=1
    {
      echo "-- the $name run ($ATEN_CPU_CAPABILITY kernels) failed:"
      grep -E '✘' "$log" | head -40 || true
      # A run that died without a verdict (a signal, a crash) says where it was.
      if ! grep -q 'Test run with' "$log"; then
        echo "it ended without a verdict; the last tests it started, the crash report's head, its last lines:"
        grep -E '◇ Test .* started' "$log" | tail -3 || true
        grep -m1 -A25 -E 'Program crashed|Fatal error|fatal error' "$log" || true
        tail -20 "$log"
      fi
    } >>"$failures"
  fi
  grep -E '✘|Test run with' "$log" | tail -60 || true
  if [ ! -s "$margins" ]; then echo "-- the $name run: no comparison ran" >>"$failures"; status=1; continue; fi
  echo "   worst distance per comparison (distance / bound):"
  sort -t$'\t' -k1,1 -k2,2g "$margins" | awk -F'\t' '
    { worst[$1] = $2; bound[$1] = $3; kind[$1] = $4 }
    END { for (k in worst) printf "   %-44s %-9s / %-8s %s\n", k, worst[k], bound[k], kind[k] }' | sort
done
if [ -s "$failures" ]; then
  echo "== test-portability failed" >&2
  cat "$failures" >&2
fi
exit $status
