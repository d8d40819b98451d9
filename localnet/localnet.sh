#!/usr/bin/env bash
# Runs a DeAI network of N validators on this machine: each validator is a
# real CometBFT v0.38 process in front of its own `deaid start`, all on
# 127.0.0.1. `localnet.sh help` lists the commands.
#
# Layout of a network directory (default localnet/.data):
#   localnet.env          the network's settings, written once by `up`
#   keys/keyring-test     the funded dev accounts dev0..dev3 (test keyring)
#   node<i>/deaid         deaid's home (state in data/state)
#   node<i>/cometbft      CometBFT's home (config/config.toml, genesis, keys)
#   node<i>/role          `validator val<i>` or `full <name>` (a `join`ed node)
#   node<i>/{deaid,cometbft}.{log,pid}
#
# Node i listens on p2p = P + 10*i, rpc = P + 10*i + 1, ABCI = P + 10*i + 2,
# the Cosmos gRPC server on P + 10*i + 3 and the REST gateway on P + 10*i + 4
# (P the base port); nothing else listens (pprof and Prometheus are off).
# The genesis is made the way the README's "Running a node under CometBFT
# v0.38" does it by hand, with `deaid` commands only.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_ROOT
readonly CHAIN_ID_DEFAULT=deai-localnet
readonly DEV_ACCOUNTS=4
readonly DEV_COINS=1000000000000udeai
# Each validator's operator account, and the stake its genesis transaction
# bonds: 10 units of power (10^6 udeai each).
readonly VALIDATOR_COINS=1000000000udeai
readonly VALIDATOR_STAKE=10000000udeai
# Seconds to wait for a node or the chain, and for a process to stop on SIGTERM.
readonly WAIT_TIMEOUT=${LOCALNET_TIMEOUT:-120}
readonly STOP_TIMEOUT=${LOCALNET_STOP_TIMEOUT:-15}
[[ $WAIT_TIMEOUT =~ ^[0-9]+$ && $STOP_TIMEOUT =~ ^[0-9]+$ ]] ||
  { echo "localnet: LOCALNET_TIMEOUT and LOCALNET_STOP_TIMEOUT are whole seconds" >&2; exit 2; }

# deaid reads these from the environment; a value left over in the caller's
# shell (say DEAI_KEYRING_DIR) would silently point the nodes or the dev
# keyring somewhere else, so every path is passed as a flag instead.
unset DEAI_HOME DEAI_ABCI DEAI_NODE DEAI_CHAIN_ID DEAI_KEYRING_DIR DEAI_KEYRING_BACKEND CMTHOME

# Settings of the network in $DIR; filled in by parse flags and load_env.
DIR=""
VALIDATORS=""
BASE_PORT=""
SNAPSHOT_INTERVAL=""
BLOCK_TIME=""
INDEXER=""
CHAIN_ID=""
DEAID=""
COMETBFT=""
# Genesis params of a new network (up --param), MODULE.NAME=VALUE each.
PARAMS=()

usage() {
  cat <<EOF
Usage: localnet/localnet.sh COMMAND [FLAGS]

Runs an N-validator DeAI network on 127.0.0.1: each node a cometbft + deaid pair.

Commands:
  up [--validators N] [--base-port P] [--snapshot-interval K] [--block-time D]
     [--chain-id ID] [--indexer kv|null] [--param MODULE.NAME=VALUE]...
      Create the network if the directory has none, start every node that is
      not running and wait until all answer and the chain is past height 2.
      --validators N         validators in a new network (default 4)
      --base-port P          node i uses P+10i (p2p), P+10i+1 (rpc), P+10i+2
                             (abci), P+10i+3 (gRPC), P+10i+4 (REST)
                             (default 26600; env LOCALNET_BASE_PORT)
      --snapshot-interval K  deaid takes a state-sync snapshot every K heights
                             (default 0: none; needed by 'join')
      --block-time D         CometBFT timeout_commit of a new network (default 1s)
      --chain-id ID          a new network's chain id (default deai-localnet;
                             a -N suffix is its IBC revision number)
      --indexer kv|null      the validators' CometBFT tx indexer in a new network
                             (default kv; with null, /tx and /tx_search answer
                             "transaction indexing is disabled", as on
                             validators that leave queries to full nodes;
                             'join' nodes always index)
      --param MODULE.NAME=VALUE
                             set a module param in a new network's genesis with
                             'deaid genesis set-param' (repeatable, in order)
  down [--purge]      Stop every node (SIGTERM cometbft, then deaid; SIGKILL
                      after ${STOP_TIMEOUT}s). --purge also removes the directory.
  start I             Start node I: deaid first, then cometbft (either one
                      alone if the other runs).
  stop I              Stop node I.
  restart I           Stop, then start node I.
  kill I [--app-only] SIGKILL node I's deaid and cometbft (only deaid with
                      --app-only: its cometbft then exits by itself).
  status              One line per node: state, height, app hash, peers,
                      catching up; then whether the app hashes agree.
  logs I [--app] [--no-follow] [--lines N]
                      Follow node I's cometbft log (deaid's with --app).
  join [--name NAME]  Add a non-validator full node that joins by state sync
                      (needs a network started with --snapshot-interval K > 0).
  help                This text.

Every command takes --nodes-dir DIR (default localnet/.data; env LOCALNET_DIR).
Binaries: DEAID_BIN (default target/release/deaid, else target/debug/deaid)
and COMETBFT_BIN (default: what scripts/install-cometbft.sh prints).
Timeouts: LOCALNET_TIMEOUT (default 120 s), LOCALNET_STOP_TIMEOUT (default 15 s).
EOF
}

die() {
  echo "localnet: $*" >&2
  exit 1
}

# A mistake on the command line: one line, exit 2.
usage_error() {
  echo "localnet: $*; see 'localnet/localnet.sh help'" >&2
  exit 2
}

say() { echo "localnet: $*"; }

# need_value FLAG NARGS: a flag that takes a value must have one.
need_value() {
  [[ $2 -ge 2 ]] || usage_error "$1 needs a value"
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# A Go duration as CometBFT parses it: 1s, 500ms, 1m30s.
is_duration() { [[ $1 =~ ^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$ ]]; }

# ---------------------------------------------------------------- paths

# set_dir [DIR]: the network directory, absolute, so that the path recorded
# in each process's command line (used to recognise it) does not depend on
# the caller's working directory.
set_dir() {
  local dir=${1:-${LOCALNET_DIR:-$REPO_ROOT/localnet/.data}}
  DIR=$(realpath -m -- "$dir")
}

node_dir() { echo "$DIR/node$1"; }
p2p_port() { echo $((BASE_PORT + 10 * $1)); }
rpc_port() { echo $((BASE_PORT + 10 * $1 + 1)); }
abci_port() { echo $((BASE_PORT + 10 * $1 + 2)); }
grpc_port() { echo $((BASE_PORT + 10 * $1 + 3)); }
rest_port() { echo $((BASE_PORT + 10 * $1 + 4)); }

# Nodes are node0, node1, ...: the validators first, then joined full nodes.
node_count() {
  local i=0
  while [[ -d $DIR/node$i ]]; do i=$((i + 1)); done
  echo "$i"
}

# node_role I: `validator` or `full`; node_name I: val<i> or the join name.
node_role() { local r; read -r r _ <"$(node_dir "$1")/role"; echo "$r"; }
node_name() { local _r n; read -r _r n <"$(node_dir "$1")/role"; echo "$n"; }

# resolve_bins: the deaid and cometbft binaries, as absolute paths.
resolve_bins() {
  if [[ -n ${DEAID_BIN:-} ]]; then
    DEAID=$(realpath -m -- "$DEAID_BIN")
  elif [[ -x $REPO_ROOT/target/release/deaid ]]; then
    DEAID=$REPO_ROOT/target/release/deaid
  else
    DEAID=$REPO_ROOT/target/debug/deaid
  fi
  [[ -x $DEAID ]] || die "no deaid at $DEAID (cargo build -p deaid --bin deaid, or set DEAID_BIN)"
  if [[ -n ${COMETBFT_BIN:-} ]]; then
    COMETBFT=$(realpath -m -- "$COMETBFT_BIN")
  else
    COMETBFT=$("$REPO_ROOT/scripts/install-cometbft.sh") || die "scripts/install-cometbft.sh failed"
  fi
  [[ -x $COMETBFT ]] || die "no cometbft at $COMETBFT (set COMETBFT_BIN)"
}

# ---------------------------------------------------------------- settings

load_env() {
  [[ -f $DIR/localnet.env ]] || die "no network in $DIR (run 'localnet/localnet.sh up' first)"
  local key value
  while IFS='=' read -r key value; do
    case $key in
      CHAIN_ID) CHAIN_ID=$value ;;
      VALIDATORS) VALIDATORS=$value ;;
      BASE_PORT) BASE_PORT=$value ;;
      SNAPSHOT_INTERVAL) SNAPSHOT_INTERVAL=$value ;;
      BLOCK_TIME) BLOCK_TIME=$value ;;
      INDEXER) INDEXER=$value ;;
      '' | '#'*) ;;
      *) die "$DIR/localnet.env: unknown setting $key" ;;
    esac
  done <"$DIR/localnet.env"
  if ! { is_uint "$VALIDATORS" && is_uint "$BASE_PORT" && is_uint "$SNAPSHOT_INTERVAL"; }; then
    die "$DIR/localnet.env is damaged"
  fi
}

write_env() {
  cat >"$DIR/localnet.env.tmp" <<EOF
# The settings of this network, written by localnet/localnet.sh.
CHAIN_ID=$CHAIN_ID
VALIDATORS=$VALIDATORS
BASE_PORT=$BASE_PORT
SNAPSHOT_INTERVAL=$SNAPSHOT_INTERVAL
BLOCK_TIME=$BLOCK_TIME
INDEXER=$INDEXER
EOF
  mv "$DIR/localnet.env.tmp" "$DIR/localnet.env"
}

# ---------------------------------------------------------------- processes

# proc_pid KIND I: prints the pid of node I's KIND (deaid or cometbft) and
# succeeds if that process runs. A pid file alone is not trusted: the process
# must be alive (not a zombie) and its command line must name this node's
# home, so that a recycled pid is never taken for (or killed as) ours.
proc_pid() {
  local home pidfile pid state cmdline
  home="$(node_dir "$2")/$1"
  pidfile="$(node_dir "$2")/$1.pid"
  [[ -f $pidfile ]] || return 1
  read -r pid <"$pidfile" || return 1
  is_uint "$pid" || return 1
  # Field 3 of /proc/PID/stat is the state; the command name before it is in
  # parentheses and may hold spaces, so cut after the last ')'.
  state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $state && $state != Z && $state != X ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ " $cmdline " == *" $home "* ]] || return 1
  echo "$pid"
}

running() { proc_pid "$1" "$2" >/dev/null; }

# port_free PORT: nothing listens on 127.0.0.1:PORT (or any address).
port_free() {
  [[ -z $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
}

# need_ports_free I NAME PORT...: fail with a clear message on a busy port.
need_ports_free() {
  local i=$1 what=$2 port
  shift 2
  for port in "$@"; do
    port_free "$port" || die "node$i: port $port ($what) is in use by another process:
$(ss -Hltnp "sport = :$port" 2>/dev/null)"
  done
}

# launch KIND I CMD...: starts CMD detached from this shell (its own session,
# immune to SIGHUP, stdin closed, output appended to node I's KIND.log) and
# records its pid. setsid and nohup both exec in place here (a background
# job of a non-interactive shell is not a process group leader), so $! is
# the pid of the command itself; proc_pid checks that.
launch() {
  local kind=$1 i=$2 n
  shift 2
  n=$(node_dir "$i")
  echo "---- $(date -u +%FT%TZ) localnet: $*" >>"$n/$kind.log"
  # NO_COLOR: deaid's logs are files, not a terminal.
  NO_COLOR=1 setsid nohup "$@" >>"$n/$kind.log" 2>&1 </dev/null &
  echo "$!" >"$n/$kind.pid"
  running "$kind" "$i" || {
    sleep 0.2
    running "$kind" "$i"
  } || fail_start "$kind" "$i" "exited at once"
}

# fail_start KIND I WHY: the last lines of the log, then fail.
fail_start() {
  local n
  n=$(node_dir "$2")
  echo "localnet: node$2: $1 $3; the end of $n/$1.log:" >&2
  tail -n 25 "$n/$1.log" >&2 || true
  exit 1
}

# wait_ready KIND I WHAT CHECK...: polls CHECK every 0.2 s until it
# succeeds; fails the start if node I's KIND exits or WAIT_TIMEOUT passes.
wait_ready() {
  local kind=$1 i=$2 what=$3 waited=0
  shift 3
  until "$@"; do
    running "$kind" "$i" || fail_start "$kind" "$i" "exited before $what"
    ((waited < WAIT_TIMEOUT * 5)) || fail_start "$kind" "$i" "not $what after ${WAIT_TIMEOUT}s"
    sleep 0.2
    waited=$((waited + 1))
  done
}

port_taken() { ! port_free "$1"; }
rpc_healthy() { rpc "$1" health >/dev/null; }

start_deaid() {
  local i=$1 n port
  n=$(node_dir "$i")
  port=$(abci_port "$i")
  need_ports_free "$i" "abci, gRPC, REST" "$port" "$(grpc_port "$i")" "$(rest_port "$i")"
  local args=(--home "$n/deaid" start --abci "tcp://127.0.0.1:$port"
    --grpc-listen "127.0.0.1:$(grpc_port "$i")" --rest-listen "127.0.0.1:$(rest_port "$i")"
    --cometbft-rpc "http://127.0.0.1:$(rpc_port "$i")")
  if ((SNAPSHOT_INTERVAL > 0)); then
    args+=(--snapshot-interval "$SNAPSHOT_INTERVAL")
  fi
  launch deaid "$i" "$DEAID" "${args[@]}"
  # cometbft must find the app listening, or it exits at its handshake.
  wait_ready deaid "$i" "listening on $port" port_taken "$port"
}

start_cometbft() {
  local i=$1 n
  n=$(node_dir "$i")
  need_ports_free "$i" "p2p, rpc" "$(p2p_port "$i")" "$(rpc_port "$i")"
  launch cometbft "$i" "$COMETBFT" start --home "$n/cometbft"
  wait_ready cometbft "$i" "answering on its RPC" rpc_healthy "$i"
}

# start_node I: whichever of deaid and cometbft is not running, deaid first.
# A cometbft whose deaid is gone is stopped first: it cannot work without its
# app (and exits by itself soon anyway); started again after deaid, it
# replays to deaid the blocks deaid had not committed.
start_node() {
  local i=$1
  if running deaid "$i" && running cometbft "$i"; then
    say "node$i: already running (rpc http://127.0.0.1:$(rpc_port "$i"))"
    return 0
  fi
  if ! running deaid "$i"; then
    if running cometbft "$i"; then
      say "node$i: cometbft runs without its deaid; stopping it first"
      stop_procs cometbft "$i"
    fi
    start_deaid "$i"
  fi
  running cometbft "$i" || start_cometbft "$i"
  say "node$i: running (rpc http://127.0.0.1:$(rpc_port "$i"))"
}

# stop_procs KIND I...: SIGTERM node I's KIND for every I, wait for them all
# and SIGKILL whatever is left after STOP_TIMEOUT seconds.
stop_procs() {
  local kind=$1 i pid waited=0 left
  shift
  for i in "$@"; do
    if pid=$(proc_pid "$kind" "$i"); then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  while :; do
    left=()
    for i in "$@"; do running "$kind" "$i" && left+=("$i"); done
    ((${#left[@]} > 0)) || break
    if ((waited >= STOP_TIMEOUT * 10)); then
      for i in "${left[@]}"; do
        if pid=$(proc_pid "$kind" "$i"); then
          say "node$i: $kind did not stop on SIGTERM; SIGKILL"
          kill -KILL "$pid" 2>/dev/null || true
        fi
      done
      sleep 0.2
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  for i in "$@"; do rm -f "$(node_dir "$i")/$kind.pid"; done
}

# stop_nodes I...: cometbft first, so that it does not see its app vanish
# mid-block, then deaid.
stop_nodes() {
  stop_procs cometbft "$@"
  stop_procs deaid "$@"
}

# ---------------------------------------------------------------- RPC

# rpc I PATH: GET from node I's CometBFT RPC; fails if it does not answer.
rpc() {
  curl -sf --max-time 3 "http://127.0.0.1:$(rpc_port "$1")/$2"
}

# json PATH: reads JSON on stdin and prints the value at a dotted PATH
# (e.g. result.sync_info.latest_block_height); fails if it is not there.
json() {
  python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(str(v).lower() if isinstance(v, bool) else v)
' "$1" 2>/dev/null
}

# height I: node I's latest block height.
height() {
  rpc "$1" status | json result.sync_info.latest_block_height
}

# wait_chain: every validator's RPC answers and reports height >= 2; joined
# full nodes only need to answer (one may still be state syncing).
wait_chain() {
  local i h waited=0 nodes behind
  nodes=$(node_count)
  say "waiting for the chain to pass height 2"
  while :; do
    behind=""
    for ((i = 0; i < nodes; i++)); do
      if [[ $(node_role "$i") == validator ]]; then
        h=$(height "$i") || h=0
        ((h >= 2)) || behind+=" node$i"
      else
        rpc "$i" health >/dev/null || behind+=" node$i"
      fi
    done
    [[ -z $behind ]] && return 0
    for ((i = 0; i < nodes; i++)); do
      running deaid "$i" || fail_start deaid "$i" "stopped"
      running cometbft "$i" || fail_start cometbft "$i" "stopped"
    done
    ((waited < WAIT_TIMEOUT)) || die "not at height 2 after ${WAIT_TIMEOUT}s:$behind (see 'logs I')"
    sleep 1
    waited=$((waited + 1))
  done
}

# ---------------------------------------------------------------- config

# toml_set FILE SECTION.KEY=VALUE...: sets keys of CometBFT's config.toml in
# place (VALUE is a TOML literal, so strings come quoted). Key names repeat
# across sections (laddr in [rpc] and [p2p]), so this goes by section; a key
# that is not in the file is an error rather than silently added, so that a
# key CometBFT v0.38 does not have is noticed.
toml_set() {
  python3 - "$@" <<'PY'
import re, sys

path, edits = sys.argv[1], sys.argv[2:]
want = {}
for edit in edits:
    dotted, value = edit.split("=", 1)
    section, _, key = dotted.rpartition(".")
    want[(section, key)] = value
with open(path) as f:
    lines = f.read().split("\n")
section, done = "", set()
for i, line in enumerate(lines):
    m = re.match(r"\s*\[([^\]]+)\]\s*$", line)
    if m:
        section = m.group(1).strip()
        continue
    m = re.match(r"\s*([A-Za-z0-9_-]+)\s*=", line)
    if m and (section, m.group(1)) in want:
        lines[i] = f"{m.group(1)} = {want[(section, m.group(1))]}"
        done.add((section, m.group(1)))
missing = [".".join(filter(None, k)) for k in want if k not in done]
if missing:
    sys.exit(f"localnet: {path} has no key {', '.join(missing)}")
with open(path, "w") as f:
    f.write("\n".join(lines))
PY
}

# configure_node I MONIKER PEERS [SECTION.KEY=VALUE...]: node I's ports,
# peers and the settings every localnet node shares.
configure_node() {
  local i=$1 moniker=$2 peers=$3
  shift 3
  toml_set "$(node_dir "$i")/cometbft/config/config.toml" \
    "proxy_app=\"tcp://127.0.0.1:$(abci_port "$i")\"" \
    "moniker=\"$moniker\"" \
    "rpc.laddr=\"tcp://127.0.0.1:$(rpc_port "$i")\"" \
    'rpc.cors_allowed_origins=["*"]' \
    'rpc.grpc_laddr=""' \
    'rpc.pprof_laddr=""' \
    "p2p.laddr=\"tcp://127.0.0.1:$(p2p_port "$i")\"" \
    "p2p.persistent_peers=\"$peers\"" \
    'p2p.addr_book_strict=false' \
    'p2p.allow_duplicate_ip=true' \
    "consensus.timeout_commit=\"$BLOCK_TIME\"" \
    "tx_index.indexer=\"${INDEXER:-kv}\"" \
    'instrumentation.prometheus=false' \
    "$@"
}

# peer I: node I's address for persistent_peers.
peer() {
  echo "$("$COMETBFT" show-node-id --home "$(node_dir "$1")/cometbft")@127.0.0.1:$(p2p_port "$1")"
}

# quietly CMD...: runs a setup step with its output in $DIR/create.log,
# shown if it fails.
quietly() {
  echo "---- $*" >>"$DIR/create.log"
  "$@" >>"$DIR/create.log" 2>&1 || {
    echo "localnet: failed: $*; the end of $DIR/create.log:" >&2
    tail -n 20 "$DIR/create.log" >&2
    exit 1
  }
}

dev_address() {
  "$DEAID" --home "$DIR/keys" keys show "dev$1" --address --keyring-backend test
}

# create_network: a new network in $DIR, the README's single-node steps
# done for N validators: the genesis is built in node0's deaid home, then
# copied to every node.
create_network() {
  local i j n addr home0 genesis
  if [[ -d $DIR && -n $(ls -A "$DIR") ]]; then
    die "$DIR is not empty but holds no network (no localnet.env); remove it ('down --purge') or pick another --nodes-dir"
  fi
  ((BASE_PORT >= 1024 && BASE_PORT + 10 * (VALIDATORS - 1) + 4 <= 65535)) ||
    usage_error "--base-port $BASE_PORT does not leave room for $VALIDATORS nodes' ports"
  for ((i = 0; i < VALIDATORS; i++)); do
    need_ports_free "$i" "p2p, rpc, abci, gRPC, REST" "$(p2p_port "$i")" "$(rpc_port "$i")" \
      "$(abci_port "$i")" "$(grpc_port "$i")" "$(rest_port "$i")"
  done
  mkdir -p "$DIR"
  say "creating $VALIDATORS validator(s) in $DIR (chain $CHAIN_ID)"
  home0=$(node_dir 0)/deaid
  genesis=$home0/config/genesis.json
  quietly "$DEAID" --home "$home0" init --chain-id "$CHAIN_ID"

  # Dev accounts in one shared test keyring. `keys add` prints the mnemonic,
  # kept next to the key: this is a throwaway test network.
  mkdir -p "$DIR/keys"
  for ((j = 0; j < DEV_ACCOUNTS; j++)); do
    "$DEAID" --home "$DIR/keys" keys add "dev$j" --keyring-backend test >"$DIR/keys/dev$j.txt" 2>>"$DIR/create.log" ||
      die "deaid keys add dev$j failed (see $DIR/create.log)"
    addr=$(dev_address "$j")
    quietly "$DEAID" --home "$home0" genesis add-account "$addr" "$DEV_COINS"
  done

  local param
  for param in "${PARAMS[@]}"; do
    [[ $param =~ ^([a-z_]+)\.([a-z_0-9]+)=(.+)$ ]] ||
      die "--param $param: give MODULE.NAME=VALUE, e.g. gov.voting_period_blocks=20"
    "$DEAID" --home "$home0" genesis set-param "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}" >/dev/null ||
      die "--param $param was refused"
  done

  # Each validator is staked by a genesis transaction of its own operator
  # key (valI, in the shared keyring), as Cosmos validators start a chain.
  for ((i = 0; i < VALIDATORS; i++)); do
    n=$(node_dir "$i")
    quietly "$COMETBFT" init --home "$n/cometbft"
    "$DEAID" --home "$DIR/keys" keys add "val$i" --keyring-backend test >"$DIR/keys/val$i.txt" 2>>"$DIR/create.log" ||
      die "deaid keys add val$i failed (see $DIR/create.log)"
    addr=$("$DEAID" --home "$DIR/keys" keys show "val$i" --address --keyring-backend test)
    quietly "$DEAID" --home "$home0" genesis add-account "$addr" "$VALIDATOR_COINS"
    quietly "$DEAID" --home "$home0" genesis gentx "val$i" --amount "$VALIDATOR_STAKE" \
      --cometbft-key "$n/cometbft/config/priv_validator_key.json" --moniker "val$i" \
      --keyring-backend test --keyring-dir "$DIR/keys/keyring-test"
    echo "validator val$i" >"$n/role"
  done
  "$DEAID" --home "$home0" genesis collect-gentxs 2>&1 | sed 's/^/  /' ||
    die "deaid genesis collect-gentxs rejected the genesis transactions in $home0/config/gentx"

  local peers=()
  for ((i = 0; i < VALIDATORS; i++)); do peers+=("$(peer "$i")"); done
  for ((i = 0; i < VALIDATORS; i++)); do
    n=$(node_dir "$i")
    mkdir -p "$n/deaid/config"
    [[ $i -eq 0 ]] || cp "$genesis" "$n/deaid/config/genesis.json"
    cp "$genesis" "$n/cometbft/config/genesis.json"
    # Every validator dials every other one.
    local others=() k
    for ((k = 0; k < VALIDATORS; k++)); do [[ $k -eq $i ]] || others+=("${peers[k]}"); done
    configure_node "$i" "val$i" "$(IFS=,; echo "${others[*]}")"
  done
  write_env
}

# ---------------------------------------------------------------- commands

cmd_up() {
  local dir="" validators="" base_port="" snapshot_interval="" block_time="" indexer="" chain_id=""
  while (($#)); do
    case $1 in
      --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
      --validators) need_value "$1" $#; validators=$2; shift 2 ;;
      --nodes-dir) need_value "$1" $#; dir=$2; shift 2 ;;
      --base-port) need_value "$1" $#; base_port=$2; shift 2 ;;
      --snapshot-interval) need_value "$1" $#; snapshot_interval=$2; shift 2 ;;
      --block-time) need_value "$1" $#; block_time=$2; shift 2 ;;
      --indexer) need_value "$1" $#; indexer=$2; shift 2 ;;
      --chain-id) need_value "$1" $#; chain_id=$2; shift 2 ;;
      --param) need_value "$1" $#; PARAMS+=("$2"); shift 2 ;;
      *) usage_error "up: unknown flag $1" ;;
    esac
  done
  [[ -z $validators ]] || { is_uint "$validators" && ((validators >= 1)); } ||
    usage_error "--validators must be a number >= 1"
  base_port=${base_port:-${LOCALNET_BASE_PORT:-}}
  [[ -z $base_port ]] || is_uint "$base_port" || usage_error "--base-port must be a port number"
  [[ -z $snapshot_interval ]] || is_uint "$snapshot_interval" ||
    usage_error "--snapshot-interval must be a number >= 0"
  [[ -z $indexer || $indexer == kv || $indexer == null ]] ||
    usage_error "--indexer must be kv or null"
  [[ -z $block_time ]] || is_duration "$block_time" ||
    usage_error "--block-time must be a duration such as 1s or 500ms"
  [[ -z $chain_id || $chain_id =~ ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,49}$ ]] ||
    usage_error "--chain-id must be 1 to 50 letters, digits, '.', '_' or '-'"

  set_dir "$dir"
  resolve_bins
  if [[ -f $DIR/localnet.env ]]; then
    load_env
    # The shape of an existing network is fixed; say so rather than ignore.
    [[ -z $validators || $validators == "$VALIDATORS" ]] ||
      die "$DIR has $VALIDATORS validators; 'down --purge' to make a new network"
    [[ -z $base_port || $base_port == "$BASE_PORT" ]] ||
      die "$DIR uses base port $BASE_PORT; 'down --purge' to make a new network"
    [[ -z $block_time || $block_time == "$BLOCK_TIME" ]] ||
      die "$DIR uses block time $BLOCK_TIME; 'down --purge' to make a new network"
    [[ -z $indexer || $indexer == "${INDEXER:-kv}" ]] ||
      die "$DIR uses indexer ${INDEXER:-kv}; 'down --purge' to make a new network"
    ((${#PARAMS[@]} == 0)) ||
      die "--param applies to a new network's genesis; 'down --purge' to make a new network"
    [[ -z $chain_id || $chain_id == "$CHAIN_ID" ]] ||
      die "$DIR is chain $CHAIN_ID; 'down --purge' to make a new network"
    # The snapshot interval is a deaid start flag: it may change while the
    # whole network is down, and applies from the next start.
    if [[ -n $snapshot_interval && $snapshot_interval != "$SNAPSHOT_INTERVAL" ]]; then
      local i
      for ((i = 0; i < $(node_count); i++)); do
        if running deaid "$i"; then
          die "node$i runs with snapshot interval $SNAPSHOT_INTERVAL; 'down' first to change it"
        fi
      done
      SNAPSHOT_INTERVAL=$snapshot_interval
      write_env
    fi
  else
    CHAIN_ID=${chain_id:-$CHAIN_ID_DEFAULT}
    VALIDATORS=${validators:-4}
    BASE_PORT=${base_port:-26600}
    SNAPSHOT_INTERVAL=${snapshot_interval:-0}
    BLOCK_TIME=${block_time:-1s}
    INDEXER=${indexer:-kv}
    create_network
  fi

  local i nodes
  nodes=$(node_count)
  for ((i = 0; i < nodes; i++)); do start_node "$i"; done
  wait_chain
  print_summary
}

print_summary() {
  local i j nodes
  nodes=$(node_count)
  say "$VALIDATORS validator(s) up in $DIR, chain $CHAIN_ID"
  for ((i = 0; i < nodes; i++)); do
    printf '  node%-3s %-9s %-8s rpc http://127.0.0.1:%s  p2p %s  abci %s\n' \
      "$i" "$(node_role "$i")" "$(node_name "$i")" "$(rpc_port "$i")" "$(p2p_port "$i")" "$(abci_port "$i")"
  done
  echo "dev accounts, $DEV_COINS each at genesis (--home $DIR/keys --keyring-backend test):"
  for ((j = 0; j < DEV_ACCOUNTS; j++)); do
    echo "  dev$j $(dev_address "$j")"
  done
  echo "e.g.: $DEAID tx bank send dev0 $(dev_address 1) 1000udeai --keyring-backend test --home $DIR/keys --node http://127.0.0.1:$(rpc_port 0) --gas auto --yes"
}

cmd_down() {
  local dir="" purge=0
  while (($#)); do
    case $1 in
      --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
      --nodes-dir) need_value "$1" $#; dir=$2; shift 2 ;;
      --purge) purge=1; shift ;;
      *) usage_error "down: unknown flag $1" ;;
    esac
  done
  set_dir "$dir"
  if [[ ! -f $DIR/localnet.env ]]; then
    # A half-created network can still be purged.
    [[ $purge -eq 1 && -d $DIR ]] || die "no network in $DIR"
  fi
  # rm -rf only a directory holding nothing but what this script makes, so
  # that a mistyped --nodes-dir cannot remove anything else.
  if ((purge)); then
    local entry foreign=()
    for entry in "$DIR"/* "$DIR"/.[!.]*; do
      [[ -e $entry ]] || continue
      case ${entry##*/} in
        localnet.env | localnet.env.tmp | create.log | keys | node[0-9]*) ;;
        *) foreign+=("${entry##*/}") ;;
      esac
    done
    ((${#foreign[@]} == 0)) || die "$DIR holds files localnet did not make (${foreign[*]}); not purging it"
  fi
  local i nodes all=()
  nodes=$(node_count)
  for ((i = 0; i < nodes; i++)); do all+=("$i"); done
  if ((nodes > 0)); then stop_nodes "${all[@]}"; fi
  say "stopped $nodes node(s) in $DIR"
  if ((purge)); then
    # Never remove a tree some node of ours still runs from.
    for ((i = 0; i < nodes; i++)); do
      if running deaid "$i" || running cometbft "$i"; then die "node$i still runs; not removing $DIR"; fi
    done
    rm -rf -- "$DIR"
    say "removed $DIR"
  fi
}

# parse_node_cmd NAME ARGS...: the node index and --nodes-dir of start, stop,
# restart; sets NODE.
parse_node_cmd() {
  local name=$1 dir="" index=""
  shift
  while (($#)); do
    case $1 in
      --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
      --nodes-dir) need_value "$1" $#; dir=$2; shift 2 ;;
      -*) usage_error "$name: unknown flag $1" ;;
      *) [[ -z $index ]] || usage_error "$name: one node index only"; index=$1; shift ;;
    esac
  done
  set_node "$name" "$dir" "$index"
}

# set_node CMD DIR INDEX: loads the network and checks the node index.
NODE=""
set_node() {
  set_dir "$2"
  load_env
  [[ -n $3 ]] || usage_error "$1: which node? (an index, 0 to $(($(node_count) - 1)))"
  if ! { is_uint "$3" && (($3 < $(node_count))); }; then
    usage_error "$1: no node $3 (0 to $(($(node_count) - 1)))"
  fi
  NODE=$3
}

cmd_start() {
  parse_node_cmd start "$@"
  resolve_bins
  start_node "$NODE"
}

cmd_stop() {
  parse_node_cmd stop "$@"
  stop_nodes "$NODE"
  say "node$NODE: stopped"
}

cmd_restart() {
  parse_node_cmd restart "$@"
  resolve_bins
  stop_nodes "$NODE"
  start_node "$NODE"
}

cmd_kill() {
  local dir="" index="" app_only=0 pid
  while (($#)); do
    case $1 in
      --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
      --nodes-dir) need_value "$1" $#; dir=$2; shift 2 ;;
      --app-only) app_only=1; shift ;;
      -*) usage_error "kill: unknown flag $1" ;;
      *) [[ -z $index ]] || usage_error "kill: one node index only"; index=$1; shift ;;
    esac
  done
  set_node kill "$dir" "$index"
  if pid=$(proc_pid deaid "$NODE"); then kill -KILL "$pid"; say "node$NODE: killed deaid ($pid)"; fi
  if ((!app_only)) && pid=$(proc_pid cometbft "$NODE"); then
    kill -KILL "$pid"
    say "node$NODE: killed cometbft ($pid)"
  fi
}

cmd_status() {
  local dir=""
  while (($#)); do
    case $1 in
      --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
      --nodes-dir) need_value "$1" $#; dir=$2; shift 2 ;;
      *) usage_error "status: unknown flag $1" ;;
    esac
  done
  set_dir "$dir"
  load_env
  local i nodes state st ni line heights=()
  nodes=$(node_count)
  printf '%-6s %-9s %-9s %-8s %-64s %-5s %s\n' node role state height app_hash peers catching_up
  for ((i = 0; i < nodes; i++)); do
    if running deaid "$i" && running cometbft "$i"; then
      state=running
    elif running deaid "$i"; then
      state=app-only
    elif running cometbft "$i"; then
      state=cmt-only
    else
      state=stopped
    fi
    line="-        -                                                                -     -"
    if st=$(rpc "$i" status) && ni=$(rpc "$i" net_info); then
      # One python3 for both answers: height, app hash, peers, catching up.
      line=$(python3 -c '
import json, sys
s = json.loads(sys.argv[1])["result"]["sync_info"]
n = json.loads(sys.argv[2])["result"]["n_peers"]
h, a, c = s["latest_block_height"], s["latest_app_hash"] or "-", str(s["catching_up"]).lower()
print(f"{h:<8} {a:<64} {n:<5} {c}")
' "$st" "$ni") || line="? (bad RPC answer)"
      heights+=("$i:${line%% *}")
    fi
    printf '%-6s %-9s %-9s %s\n' "node$i" "$(node_role "$i")" "$state" "$line"
  done
  compare_app_hashes "${heights[@]}"
}

# compare_app_hashes I:HEIGHT...: the app hash in the header of the lowest
# height all answering nodes have, from each of them: they must agree.
compare_app_hashes() {
  (($# > 1)) || return 0
  local entry low="" i hash first="" differ=0 report=""
  for entry in "$@"; do
    is_uint "${entry#*:}" || continue
    if [[ -z $low ]] || ((${entry#*:} < low)); then low=${entry#*:}; fi
  done
  [[ -n $low && $low -ge 1 ]] || return 0
  for entry in "$@"; do
    i=${entry%%:*}
    hash=$(rpc "$i" "block?height=$low" | json result.block.header.app_hash) || continue
    report+=" node$i=${hash:0:12}"
    first=${first:-$hash}
    [[ $hash == "$first" ]] || differ=1
  done
  if ((differ)); then
    echo "app hashes at height $low DIFFER:$report"
    return 1
  fi
  echo "app hash at height $low: the same on every answering node (${first:0:16}...)"
}

cmd_logs() {
  local dir="" index="" kind=cometbft follow=1 lines=50
  while (($#)); do
    case $1 in
      --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
      --nodes-dir) need_value "$1" $#; dir=$2; shift 2 ;;
      --app) kind=deaid; shift ;;
      --no-follow) follow=0; shift ;;
      --lines) need_value "$1" $#; lines=$2; is_uint "$lines" || usage_error "--lines must be a number"; shift 2 ;;
      -*) usage_error "logs: unknown flag $1" ;;
      *) [[ -z $index ]] || usage_error "logs: one node index only"; index=$1; shift ;;
    esac
  done
  set_node logs "$dir" "$index"
  local log
  log="$(node_dir "$NODE")/$kind.log"
  [[ -f $log ]] || die "no $log yet"
  if ((follow)); then exec tail -n "$lines" -F "$log"; fi
  tail -n "$lines" "$log"
}

cmd_join() {
  local dir="" name=""
  while (($#)); do
    case $1 in
      --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
      --nodes-dir) need_value "$1" $#; dir=$2; shift 2 ;;
      --name) need_value "$1" $#; name=$2; shift 2 ;;
      *) usage_error "join: unknown flag $1" ;;
    esac
  done
  [[ -z $name || $name =~ ^[A-Za-z0-9_-]+$ ]] || usage_error "--name: letters, digits, - and _ only"
  set_dir "$dir"
  load_env
  ((SNAPSHOT_INTERVAL > 0)) ||
    die "the validators of $DIR take no snapshots (snapshot interval 0), so a node cannot state sync from them; 'down', then 'up --snapshot-interval K' (K > 0), then 'join'"
  resolve_bins

  local i nodes m n rpcs=() latest trust_height trust_hash
  nodes=$(node_count)
  m=$nodes
  name=${name:-full$m}
  for ((i = 0; i < nodes; i++)); do
    [[ $(node_name "$i") != "$name" ]] || usage_error "join: node$i is already named $name"
  done
  ((BASE_PORT + 10 * m + 2 <= 65535)) || die "no ports left above base port $BASE_PORT for node$m"
  need_ports_free "$m" "p2p, rpc, abci" "$(p2p_port "$m")" "$(rpc_port "$m")" "$(abci_port "$m")"

  # The light client needs two RPC servers (CometBFT refuses one); the same
  # one twice is accepted, for a one-validator network.
  for ((i = 0; i < VALIDATORS; i++)); do
    if height "$i" >/dev/null; then rpcs+=("$i"); fi
  done
  ((${#rpcs[@]} > 0)) || die "no validator of $DIR answers; 'up' first"
  ((${#rpcs[@]} > 1)) || rpcs+=("${rpcs[0]}")
  # Trust a block a few heights back, as one would take it from a trusted
  # source; any height >= 1 works, the light client verifies from there.
  latest=$(height "${rpcs[0]}")
  trust_height=$((latest > 3 ? latest - 3 : 1))
  trust_hash=$(rpc "${rpcs[0]}" "block?height=$trust_height" | json result.block_id.hash) ||
    die "could not read block $trust_height from node${rpcs[0]}"
  if ((latest < SNAPSHOT_INTERVAL)); then
    say "no snapshot yet (height $latest < interval $SNAPSHOT_INTERVAL): the new node keeps looking until one is taken"
  fi

  n=$(node_dir "$m")
  say "adding node$m ($name), a full node that state syncs from node${rpcs[0]} and node${rpcs[1]} (trust height $trust_height)"
  mkdir -p "$n"
  quietly "$COMETBFT" init --home "$n/cometbft"
  # Its deaid starts empty: state sync restores a snapshot into it, with no
  # InitChain; `deaid start` needs only a directory, so no `deaid init`.
  mkdir -p "$n/deaid/config"
  cp "$(node_dir 0)/cometbft/config/genesis.json" "$n/cometbft/config/genesis.json"
  cp "$(node_dir 0)/cometbft/config/genesis.json" "$n/deaid/config/genesis.json"
  local peers=()
  for ((i = 0; i < VALIDATORS; i++)); do peers+=("$(peer "$i")"); done
  # Block sync needs no setting: v0.38's [blocksync] has no `enable` (it is
  # always on and takes over once state sync is done).
  configure_node "$m" "$name" "$(IFS=,; echo "${peers[*]}")" \
    'statesync.enable=true' \
    "statesync.rpc_servers=\"127.0.0.1:$(rpc_port "${rpcs[0]}"),127.0.0.1:$(rpc_port "${rpcs[1]}")\"" \
    "statesync.trust_height=$trust_height" \
    "statesync.trust_hash=\"$trust_hash\"" \
    'statesync.trust_period="168h0m0s"' \
    'statesync.discovery_time="5s"' \
    'tx_index.indexer="kv"'
  echo "full $name" >"$n/role"

  start_node "$m"
  wait_synced "$m"
}

# wait_synced I: node I has restored a snapshot and caught up.
wait_synced() {
  local i=$1 waited=0 st h cu
  say "node$i: state syncing (follow with 'logs $i')"
  while :; do
    if st=$(rpc "$i" status); then
      h=$(json result.sync_info.latest_block_height <<<"$st") || h=0
      cu=$(json result.sync_info.catching_up <<<"$st") || cu=true
      if ((h > 0)) && [[ $cu == false ]]; then
        # catching_up turns false once block sync hands over to consensus,
        # which may still be a few blocks behind and closes the gap itself.
        say "node$i: state synced, at height $h (node0 at $(height 0 || echo '?')); rpc http://127.0.0.1:$(rpc_port "$i")"
        return 0
      fi
    fi
    running deaid "$i" || fail_start deaid "$i" "stopped"
    running cometbft "$i" || fail_start cometbft "$i" "stopped"
    ((waited < WAIT_TIMEOUT)) ||
      die "node$i: not synced after ${WAIT_TIMEOUT}s; it keeps running ('logs $i', 'stop $i')"
    sleep 1
    waited=$((waited + 1))
  done
}

main() {
  (($#)) || { usage >&2; exit 2; }
  local cmd=$1
  shift
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    restart) cmd_restart "$@" ;;
    kill) cmd_kill "$@" ;;
    status) cmd_status "$@" ;;
    logs) cmd_logs "$@" ;;
    join) cmd_join "$@" ;;
    help | -h | --help) usage ;;
    *) usage_error "unknown command $cmd" ;;
  esac
}

main "$@"
