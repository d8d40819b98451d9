#!/usr/bin/env bash
# Installs what building and testing DeAI needs on a fresh Debian machine:
# a C/C++ toolchain and libclang (RocksDB is built from source), Mesa's
# lavapipe Vulkan driver and the Vulkan loader (the compute node's kernels
# run on it when no GPU is present), glslc (compiles the GLSL shaders), and
# Rust through rustup when cargo is missing; pip downloads the compute node's
# test model (scripts/test.sh); QEMU's user-mode emulator and an AArch64 cross
# linker run the CPU backend's NEON kernels on any machine (scripts/test-neon.sh).
# Safe to run again.
set -euo pipefail

packages=(build-essential clang libclang-dev pkg-config ca-certificates curl
          mesa-vulkan-drivers libvulkan1 libvulkan-dev glslc python3-pip python3-venv
          qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Node.js and npm run the CosmJS wallet test (Debian's nodejs is recent enough).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends nodejs npm
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    echo "cargo is in ~/.cargo/bin; add it to PATH"
  else
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  fi
fi

# CometBFT, the consensus engine validators run in front of deaid, at the
# version pinned in scripts/install-cometbft.sh (built once with Go into a
# cache keyed by version).
"$(dirname "$0")/install-cometbft.sh" >/dev/null
