#!/usr/bin/env bash
# Sets up and runs a DeAI node: installs dependencies, builds deaid in
# release mode, creates ~/.deaid (or $DEAI_HOME) with a genesis that funds a
# dev account, and serves ABCI on tcp://127.0.0.1:26658 for CometBFT v0.38:
#   cometbft init --home ~/.cometbft
#   deaid genesis add-validator --name local --cometbft-key ~/.cometbft/config/priv_validator_key.json
#   cp ~/.deaid/config/genesis.json ~/.cometbft/config/genesis.json
#   cometbft start --home ~/.cometbft --proxy_app tcp://127.0.0.1:26658
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --locked -p deaid --bin deaid
deaid=target/release/deaid
home="${DEAI_HOME:-$HOME/.deaid}"
if [ ! -f "$home/config/genesis.json" ]; then
  "$deaid" --home "$home" init --chain-id deai-local
  # A dev key in the unencrypted test keyring (for local use only).
  "$deaid" --home "$home" keys add dev --keyring-backend test
  dev=$("$deaid" --home "$home" keys show dev --address --keyring-backend test)
  "$deaid" --home "$home" genesis add-account "$dev" 1000000000000udeai
fi
echo "state and config in $home; serving ABCI for CometBFT (see README)"
exec "$deaid" --home "$home" start "$@"
