#!/usr/bin/env bash
# The CPU backend's AArch64 (NEON) gemm-i8 kernels, checked on any machine: the
# `deai-cpu-gemm` crate is built for aarch64-unknown-linux-gnu and its tests run
# under QEMU user-mode emulation, twice: as a CPU with the dot-product extension
# (`-cpu max`: the `sdot` and the widening kernels both run) and as a Cortex-A53
# (plain NEON only, so detection must fall back). Every kernel is compared with
# the plain product byte for byte; timings under an emulator mean nothing, so
# none are taken. Clippy runs for that target too.
#
#   scripts/test-neon.sh --encoder
#       Also builds the whole compute node for AArch64 (about 7 minutes on 2
#       cores, so not part of scripts/test.sh) and runs tests/cpu_backend.rs
#       under QEMU: whole forward passes, all-MiniLM-L6-v2 included (with
#       DEAI_MINILM_DIR) with its pinned hash, on neon and neon-dot.
#
# Needs the Rust target (added with rustup when missing), and qemu-user plus a
# cross linker (scripts/install-deps.sh installs them on Debian).
set -euo pipefail
encoder=0
if [ "${1:-}" = "--encoder" ]; then
  encoder=1
fi
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

target=aarch64-unknown-linux-gnu
if ! rustc --print target-libdir --target "$target" >/dev/null 2>&1 \
   || [ ! -d "$(rustc --print target-libdir --target "$target")" ]; then
  if command -v rustup >/dev/null 2>&1; then
    rustup target add "$target"
  else
    echo "test-neon: the Rust standard library for $target is missing and rustup is not here to add it" >&2
    exit 1
  fi
fi
for tool in qemu-aarch64 aarch64-linux-gnu-gcc; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test-neon: $tool is missing (scripts/install-deps.sh installs it)" >&2
    exit 1
  fi
done

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
# Each CPU model with the instruction sets detection must report on it.
for run in "max:[Scalar, Neon, NeonDot]" "cortex-a53:[Scalar, Neon]"; do
  cpu=${run%%:*}
  want=${run#*:}
  echo "test-neon: deai-cpu-gemm on $target, qemu -cpu $cpu"
  if ! out=$(CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -cpu $cpu -L /usr/aarch64-linux-gnu" \
      cargo test -p deai-cpu-gemm --target "$target" --locked -- --nocapture 2>&1); then
    tail -n 60 <<<"$out"
    echo "test-neon: FAILED on qemu -cpu $cpu" >&2
    exit 1
  fi
  grep -E "^test .* ok$|test result: ok\. [1-9]" <<<"$out" | sed 's/^/  /'
  if ! grep -qF "instruction sets on this machine: $want" <<<"$out"; then
    echo "test-neon: expected $want on qemu -cpu $cpu, got: $(grep -F 'instruction sets' <<<"$out")" >&2
    exit 1
  fi
done
cargo clippy -p deai-cpu-gemm --target "$target" --all-targets --locked -- -D warnings
if [ "$encoder" = 1 ]; then
  echo "test-neon: the compute node's CPU backend tests on $target, qemu -cpu max"
  # ring and the other C parts of the node's dependencies need the cross compiler.
  CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu" \
    cargo test -p deai-compute --target "$target" --locked --test cpu_backend
fi
echo "test-neon: the NEON and sdot kernels equal the plain product"
