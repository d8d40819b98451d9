#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: gemm-i8 on Vulkan (`deai-compute bench`, the GPU is
# picked first) beside torch._int_mm (cuBLASLt int8) at the same sizes, in one run.
#
#   compute-node/bench/gpu_int_mm.sh [MxNxK ...]
#
# torch is installed from PyPI, pinned, into a venv under ~/.cache/deai/torch-<version>.
# Needs the NVIDIA driver (with its Vulkan ICD) and glslc for the build.
set -euo pipefail

TORCH_VERSION=2.15.0
VENV="${DEAI_CACHE_DIR:-$HOME/.cache/deai}/torch-$TORCH_VERSION"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SIZES=("${@:-256x256x256 1024x512x2048 4096x512x14336}")
read -r -a SIZES <<< "${SIZES[*]}"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "torch==$TORCH_VERSION" numpy==2.4.6
fi

(cd "$ROOT" && cargo build --release -p deai-compute)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/deai-compute"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
"$BIN" info | head -20
"$VENV/bin/python" "$HERE/gpu_int_mm.py" "${SIZES[@]}"
echo
"$BIN" bench --sizes "$(IFS=,; echo "${SIZES[*]}")"
echo
# The CPU backend and the reference on the same machine, for scale.
"$BIN" bench --backends --sizes "${SIZES[-1]}"
