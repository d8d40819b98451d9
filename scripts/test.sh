#!/usr/bin/env bash
# The test command: installs dependencies, then runs every test in the
# workspace (unit, property and end-to-end tests over the ABCI socket, and
# the compute kernels on Vulkan, lavapipe when there is no GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo test --workspace --locked
# A real wallet library (CosmJS from npm) against the devnet built above.
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
DEAID_BIN="$PWD/target/debug/deaid" node --test tests/js/
