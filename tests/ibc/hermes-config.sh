#!/usr/bin/env bash
# Prints a Hermes config.toml for relaying between a DeAI chain and a simd
# chain (tests/ibc/simd-chain.sh), both on this machine. tests/ibc/README.md
# explains each setting.
#
#   tests/ibc/hermes-config.sh \
#       --deai-chain-id deai-localnet --deai-rpc http://127.0.0.1:26601 --deai-grpc http://127.0.0.1:26603 \
#       --simd-chain-id simd-1 --simd-rpc http://127.0.0.1:27601 --simd-grpc http://127.0.0.1:27602 \
#       [--keys-dir DIR] [--key-name relayer] [--event-source push|pull] > "$HERMES_HOME/config.toml"
#
# --keys-dir sets key_store_folder (Hermes's default: ~/.hermes/keys), so a
# test keeps its keys in its own directory. --event-source pull has Hermes
# poll /block_results instead of subscribing over the websocket.
set -euo pipefail

usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

deai_id="" deai_rpc="" deai_grpc="" simd_id="" simd_rpc="" simd_grpc=""
keys_dir="" key_name=relayer event_source=push
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case $1 in
    --deai-chain-id) deai_id=$2 ;;
    --deai-rpc) deai_rpc=${2%/} ;;
    --deai-grpc) deai_grpc=${2%/} ;;
    --simd-chain-id) simd_id=$2 ;;
    --simd-rpc) simd_rpc=${2%/} ;;
    --simd-grpc) simd_grpc=${2%/} ;;
    --keys-dir) keys_dir=$2 ;;
    --key-name) key_name=$2 ;;
    --event-source) event_source=$2 ;;
    *) usage ;;
  esac
  shift 2
done
for v in deai_id deai_rpc deai_grpc simd_id simd_rpc simd_grpc; do
  [ -n "${!v}" ] || usage
done
[[ $event_source == push || $event_source == pull ]] || usage

# event_source RPC_URL: the TOML inline table.
event_source() {
  if [ "$event_source" = push ]; then
    local ws=${1/#http:/ws:}
    ws=${ws/#https:/wss:}
    echo "{ mode = 'push', url = '$ws/websocket', batch_delay = '200ms' }"
  else
    echo "{ mode = 'pull', interval = '500ms' }"
  fi
}

key_store=""
[ -n "$keys_dir" ] && key_store="key_store_folder = '$keys_dir'"

# DeAI's ICS-23 proof specs, as a JSON array in a TOML string (Hermes reads
# `proof_specs` with serde_json into Vec<ics23::ProofSpec>, pbjson field
# names, bytes in base64): two copies of `jmt::ics23_spec()` (jmt 0.12), one
# for the IBC substore's JMT, one for the main tree's. It must equal
# deai_ibc::host::proof_specs(): DeAI checks a counterparty's client of it
# against that (validate_self_client). leafSpec.prefix is base64 of
# "JMT::LeafNode", innerSpec.emptyChild of "SPARSE_MERKLE_PLACEHOLDER_HASH__";
# minPrefixLength = maxPrefixLength = len("JMT::IntrnalNode") = 16; length
# is NO_PREFIX, the default, so it is left out.
JMT_SPEC='{"leafSpec":{"hash":"SHA256","prehashKey":"SHA256","prehashValue":"SHA256","prefix":"Sk1UOjpMZWFmTm9kZQ=="},"innerSpec":{"childOrder":[0,1],"childSize":32,"minPrefixLength":16,"maxPrefixLength":16,"emptyChild":"U1BBUlNFX01FUktMRV9QTEFDRUhPTERFUl9IQVNIX18=","hash":"SHA256"},"maxDepth":64,"prehashKeyBeforeComparison":true}'

cat <<EOF
# Hermes config for DeAI <-> simd, written by tests/ibc/hermes-config.sh.

[global]
log_level = 'info'

[mode.clients]
enabled = true
refresh = true
misbehaviour = false

[mode.connections]
enabled = false

[mode.channels]
enabled = false

[mode.packets]
enabled = true
clear_interval = 100
clear_on_start = true
tx_confirmation = true

[rest]
enabled = false
host = '127.0.0.1'
port = 3000

[telemetry]
enabled = false
host = '127.0.0.1'
port = 3001

[[chains]]
id = '$deai_id'
type = 'CosmosSdk'
rpc_addr = '$deai_rpc'
grpc_addr = '$deai_grpc'
event_source = $(event_source "$deai_rpc")
compat_mode = '0.38'
rpc_timeout = '10s'
trusted_node = true
account_prefix = 'deai'
key_name = '$key_name'
$key_store
store_prefix = 'ibc'
default_gas = 1000000
max_gas = 10000000
gas_multiplier = 1.3
gas_price = { price = 0.01, denom = 'udeai' }
max_msg_num = 30
max_tx_size = 180000
clock_drift = '5s'
max_block_time = '30s'
trusting_period = '14days'
trust_threshold = '2/3'
address_type = { derivation = 'cosmos' }
proof_specs = '''
[$JMT_SPEC,
 $JMT_SPEC]
'''

[[chains]]
id = '$simd_id'
type = 'CosmosSdk'
rpc_addr = '$simd_rpc'
grpc_addr = '$simd_grpc'
event_source = $(event_source "$simd_rpc")
compat_mode = '0.38'
rpc_timeout = '10s'
trusted_node = true
account_prefix = 'cosmos'
key_name = '$key_name'
$key_store
store_prefix = 'ibc'
default_gas = 200000
max_gas = 4000000
gas_multiplier = 1.3
gas_price = { price = 0.001, denom = 'stake' }
max_msg_num = 30
max_tx_size = 180000
clock_drift = '5s'
max_block_time = '30s'
trusting_period = '14days'
trust_threshold = '2/3'
address_type = { derivation = 'cosmos' }
# proof_specs left out: Hermes's default is the Cosmos SDK's
# [iavl_spec, tendermint_spec], which is what simd proves with.
EOF
