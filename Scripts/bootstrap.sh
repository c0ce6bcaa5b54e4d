#!/usr/bin/env bash
# Installs what Headroom needs to build and run: Debian's image codecs (JPEG, PNG, WebP, TIFF),
# libcurl's headers (pretrained-weight downloads) and libtorch.
# Idempotent and quick when everything is already there. Called by every make target.
#
# libtorch comes from the PyPI `torch` wheel, pinned, installed without its Python
# dependencies into .deps/python. libtorch_cpu.so needs libcudart.so.13 and libcupti.so.13
# at load time even on CPU-only machines, so the two small NVIDIA wheels that hold them
# are installed beside it (their RUNPATH entries in libtorch point there), with the CUDA
# headers the shim compiles against (nothing from CUDA is linked).
# If LIBTORCH names an existing torch package directory, it is used and nothing is downloaded.
set -euo pipefail

TORCH_VERSION=2.11.0
# The versions torch 2.11.0 asks for through cuda-toolkit==13.0.2.
CUDA_RUNTIME_VERSION=13.0.96
CUDA_CUPTI_VERSION=13.0.85
CUDA_CRT_VERSION=13.0.88  # headers only (134 kB): lets the shim compile its CUDA memory calls
# Headers only, read out of the wheels torch 2.11.0 pins (about 1 MB of ~1 GB): what
# ProcessGroupNCCL.hpp includes, for the NCCL plugin (Sources/CTorchNCCL). Without them the
# plugin builds as a stub that says so, and several GPUs use Gloo.
NCCL_HEADER_WHEELS=(
  "nvidia-nccl-cu13==2.28.9:nvidia/nccl/include/nccl.h"
  "nvidia-cublas==13.1.0.3"
  "nvidia-cusparse==12.6.3.3"
  "nvidia-cusolver==12.0.4.66"
  "nvidia-cuda-cccl==13.0.85:nvidia/cu13/include/nv/"
)
# libgloo-dev: headers only; ProcessGroupGloo.hpp includes gloo headers the torch wheel lacks.
# Nothing from it is linked (libtorch_cpu holds its own gloo).
# libgdcm-dev: DICOM (GDCM decodes JPEG-LS and JPEG 2000 as well as JPEG and RLE).
# libcurl4-openssl-dev: downloads go through libcurl's easy interface; the library itself is
# already there (Swift's FoundationNetworking links it).
# zlib1g-dev: GDCM's deflated transfer syntax includes zlib.h (libgdcm-dev does not depend on it).
APT_PACKAGES=(libturbojpeg0-dev libjpeg62-turbo-dev libpng-dev libdeflate-dev libwebp-dev libtiff-dev libgloo-dev libcurl4-openssl-dev libgdcm-dev zlib1g-dev)
# Whole-slide images: OpenSlide 4 from its own wheel (one self-contained library, loaded at run time).
# Not Debian's libopenslide0: that is 3.4.1, which reads no DICOM whole-slide images and is
# years of vendor fixes behind.
OPENSLIDE_BIN_VERSION=4.0.1.2

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deps="$root/.deps"
say() { printf 'bootstrap: %s\n' "$*"; }

install_apt_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Prints the version recorded in a torch package directory, or nothing.
torch_version_in() {
  sed -n "s/^__version__ = '\([^'+]*\).*/\1/p" "$1/version.py" 2>/dev/null || true
}

check_torch_dir() {
  local dir="$1" origin="$2" found
  found="$(torch_version_in "$dir")"
  if [ ! -f "$dir/lib/libtorch_cpu.so" ] || [ ! -d "$dir/include/ATen" ]; then
    cat >&2 <<MSG
bootstrap: $origin ($dir) is not a torch package directory: it lacks lib/libtorch_cpu.so or include/ATen.
Remedies:
  - unset LIBTORCH and run 'make setup' to install torch==$TORCH_VERSION into .deps/;
  - or set LIBTORCH to the 'torch' folder of a PyTorch $TORCH_VERSION install,
    e.g. LIBTORCH=\$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))').
MSG
    exit 1
  fi
  if [ "$found" != "$TORCH_VERSION" ]; then
    cat >&2 <<MSG
bootstrap: $origin ($dir) holds torch ${found:-of unknown version}; Headroom is built against torch $TORCH_VERSION.
Remedies:
  - unset LIBTORCH and run 'make setup' to install torch==$TORCH_VERSION into .deps/;
  - or point LIBTORCH at a PyTorch $TORCH_VERSION install (pip install torch==$TORCH_VERSION).
MSG
    exit 1
  fi
}

pip_install() {
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps \
    --only-binary=:all: --upgrade --target "$deps/python" "$@"
}

install_libtorch() {
  local torch="$deps/python/torch"
  if [ -n "${LIBTORCH:-}" ]; then
    check_torch_dir "$LIBTORCH" "LIBTORCH"
    return 0
  fi
  if [ "$(torch_version_in "$torch")" = "$TORCH_VERSION" ] && [ -f "$torch/lib/libtorch_cpu.so" ] \
     && [ -n "$(ls "$deps"/python/nvidia/cu13/lib/libcudart.so.13* 2>/dev/null)" ] \
     && [ -n "$(ls "$deps"/python/nvidia/cu13/lib/libcupti.so.13* 2>/dev/null)" ] \
     && [ -f "$deps/python/nvidia/cu13/include/crt/host_config.h" ]; then
    return 0
  fi
  command -v python3 >/dev/null || { echo "bootstrap: python3 with pip is needed to fetch the torch wheel from PyPI" >&2; exit 1; }
  say "installing torch==$TORCH_VERSION (libtorch, ~530 MB download) into .deps/python"
  mkdir -p "$deps"
  pip_install "torch==$TORCH_VERSION" \
    "nvidia-cuda-runtime==$CUDA_RUNTIME_VERSION" "nvidia-cuda-cupti==$CUDA_CUPTI_VERSION" \
    "nvidia-cuda-crt==$CUDA_CRT_VERSION"
  check_torch_dir "$torch" ".deps/python/torch"
}

# After install_libtorch: pip's --upgrade replaces the nvidia/ folder these join.
install_nccl_headers() {
  [ -n "${LIBTORCH:-}" ] && return 0  # a full PyTorch install has them, or the plugin says what is missing
  local python="$deps/python"
  if [ -f "$python/nvidia/nccl/include/nccl.h" ] && [ -f "$python/nvidia/cu13/include/cusolverDn.h" ] \
     && [ -f "$python/nvidia/cu13/include/nv/target" ]; then
    return 0
  fi
  say "fetching the NCCL, cuBLAS, cuSPARSE, cuSOLVER and libcu++ headers (about 1 MB) for the NCCL plugin"
  python3 "$root/Scripts/fetch-wheel-headers.py" "$python" "${NCCL_HEADER_WHEELS[@]}" \
    || say "warning: the NCCL headers could not be fetched; the NCCL plugin builds as a stub (several GPUs use Gloo)"
}

install_openslide() {
  local library="$deps/python/openslide_bin/libopenslide.so.1"
  grep -qs "^Version: $OPENSLIDE_BIN_VERSION\$" "$deps"/python/openslide_bin-"$OPENSLIDE_BIN_VERSION".dist-info/METADATA \
    && [ -f "$library" ] && return 0
  say "installing openslide-bin==$OPENSLIDE_BIN_VERSION (OpenSlide, ~3 MB) into .deps/python"
  mkdir -p "$deps"
  pip_install "openslide-bin==$OPENSLIDE_BIN_VERSION" \
    || say "warning: OpenSlide could not be installed; everything but whole-slide images works"
}

install_apt_packages
install_libtorch
install_nccl_headers
install_openslide
