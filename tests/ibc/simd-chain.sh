#!/usr/bin/env bash
# Runs a one-validator simd chain (ibc-go's simapp, the IBC counterparty of
# the DeAI tests) on 127.0.0.1, in its own home directory.
#
#   tests/ibc/simd-chain.sh start --home DIR --mnemonic-file F
#       [--chain-id ID] [--base-port P] [--block-time D] [--simd PATH]
#     Creates the chain in DIR if DIR has none (the mnemonic's account,
#     m/44'/118'/0'/0/0, key name `relayer`, funded with 10^12 stake and
#     10^12 samoleans; the validator is a key of its own), starts simd in
#     the background, waits until the chain is past height 2 and prints
#     `rpc=`, `grpc=`, `p2p=` and `address=` lines on stdout.
#     Ports: p2p P, CometBFT RPC P+1, gRPC P+2 (default P 27600); the REST
#     API, pprof and Prometheus stay off.
#   tests/ibc/simd-chain.sh stop --home DIR
#     SIGTERM, then SIGKILL after 15 s.
#
# simd comes from --simd, else $SIMD_BIN, else what
# scripts/install-ibc-tools.sh prints. Its log is DIR/simd.log, its pid
# DIR/simd.pid. Blocks every --block-time (CometBFT timeout_commit;
# default 500ms). Gas is free (minimum-gas-prices 0stake).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WAIT_TIMEOUT=${SIMD_CHAIN_TIMEOUT:-60}

die() { echo "simd-chain: $*" >&2; exit 1; }
usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

cmd=${1:-}; [ $# -gt 0 ] && shift
home="" mnemonic_file="" chain_id=simd-1 base_port=27600 block_time=500ms simd=${SIMD_BIN:-}
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case $1 in
    --home) home=$2 ;;
    --mnemonic-file) mnemonic_file=$2 ;;
    --chain-id) chain_id=$2 ;;
    --base-port) base_port=$2 ;;
    --block-time) block_time=$2 ;;
    --simd) simd=$2 ;;
    *) usage ;;
  esac
  shift 2
done
[ -n "$home" ] || usage
[[ $base_port =~ ^[0-9]+$ ]] || die "--base-port must be a number"

stop() {
  local pid
  pid=$(cat "$home/simd.pid" 2>/dev/null) || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$home/simd.pid"
}

case $cmd in
  stop) stop; exit 0 ;;
  start) ;;
  *) usage ;;
esac

[ -n "$mnemonic_file" ] || usage
[ -r "$mnemonic_file" ] || die "cannot read $mnemonic_file"
if [ -z "$simd" ]; then
  simd=$("$REPO_ROOT/scripts/install-ibc-tools.sh" | sed -n 2p)
fi
[ -x "$simd" ] || die "no simd at $simd"
mkdir -p "$home"
home=$(cd "$home" && pwd)
p2p=$base_port rpc=$((base_port + 1)) grpc=$((base_port + 2))
s() { "$simd" --home "$home" "$@"; }
keys() { s keys --keyring-backend test "$@"; }

# A chain made to the end leaves .simd-chain-made; a half-made one is made again.
if [ ! -f "$home/.simd-chain-made" ]; then
  rm -rf "$home/config" "$home/data" "$home/keyring-test"
  s init "$chain_id-node" --chain-id "$chain_id" >/dev/null 2>&1
  keys add validator >/dev/null 2>&1
  keys add relayer --recover < "$mnemonic_file" >/dev/null 2>&1
  for k in validator relayer; do
    s genesis add-genesis-account "$(keys show "$k" -a)" 1000000000000stake,1000000000000samoleans \
      --keyring-backend test >/dev/null
  done
  s genesis gentx validator 100000000stake --chain-id "$chain_id" --keyring-backend test >/dev/null 2>&1
  s genesis collect-gentxs >/dev/null 2>&1
  # config.toml (CometBFT's: `simd config set` edits only app.toml and
  # client.toml): KEY in [SECTION] set to VALUE, a TOML literal.
  set_comet() {
    awk -v sec="[$1]" -v key="$2" -v val="$3" '
      /^\[/ { in_sec = ($0 == sec) }
      in_sec && $1 == key && $2 == "=" { print key " = " val; next }
      { print }' "$home/config/config.toml" > "$home/config/config.toml.new"
    grep -qxF "$2 = $3" "$home/config/config.toml.new" || die "config.toml has no $2 in [$1]"
    mv "$home/config/config.toml.new" "$home/config/config.toml"
  }
  set_comet consensus timeout_commit "\"$block_time\""
  set_comet p2p laddr "\"tcp://127.0.0.1:$p2p\""
  set_comet rpc laddr "\"tcp://127.0.0.1:$rpc\""
  set_comet rpc pprof_laddr '""'
  set_comet instrumentation prometheus false
  set_comet tx_index indexer '"kv"'
  set_config() { s config set "$@" >/dev/null; }
  set_config app minimum-gas-prices 0stake
  set_config app api.enable false
  set_config app grpc.enable true
  set_config app grpc.address "127.0.0.1:$grpc"
  set_config client chain-id "$chain_id"
  set_config client keyring-backend test
  set_config client node "tcp://127.0.0.1:$rpc"
  touch "$home/.simd-chain-made"
fi

if pid=$(cat "$home/simd.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
  echo "simd-chain: already running (pid $pid)" >&2
else
  # Not through the function `s`: $! must be simd itself, not a subshell.
  "$simd" --home "$home" start >>"$home/simd.log" 2>&1 &
  echo $! > "$home/simd.pid"
fi

height() {
  curl -sf "http://127.0.0.1:$rpc/status" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["sync_info"]["latest_block_height"])' 2>/dev/null
}
deadline=$((SECONDS + WAIT_TIMEOUT))
until h=$(height) && [ "${h:-0}" -gt 2 ]; do
  kill -0 "$(cat "$home/simd.pid")" 2>/dev/null || { tail -20 "$home/simd.log" >&2; die "simd exited; log: $home/simd.log"; }
  [ $SECONDS -lt $deadline ] || { stop; die "no block past height 2 in ${WAIT_TIMEOUT}s; log: $home/simd.log"; }
  sleep 0.5
done
echo "rpc=http://127.0.0.1:$rpc"
echo "grpc=http://127.0.0.1:$grpc"
echo "p2p=127.0.0.1:$p2p"
echo "address=$(keys show relayer -a)"
