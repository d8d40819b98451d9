#!/usr/bin/env bash
# Sets up and runs a DeAI devnet on this machine: installs dependencies,
# builds deaid in release mode and runs `deaid devnet` (a single-validator
# chain in one process, JSON-RPC on http://127.0.0.1:26657). The first run
# creates ~/.deai-devnet (or $DEAI_HOME) with three funded accounts, dev0,
# dev1 and dev2, in the test keyring, and prints their mnemonics.
# Extra arguments go to `deaid devnet` (e.g. --block-time 500ms).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --locked -p deaid --bin deaid
home="${DEAI_HOME:-$HOME/.deai-devnet}"
exec target/release/deaid --home "$home" devnet "$@"
