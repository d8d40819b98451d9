#!/usr/bin/env bash
# Installs the IBC tools the end-to-end IBC tests run, each pinned and
# cached under ~/.cache/deai (or $DEAI_CACHE_DIR) by version, so a second
# run installs nothing:
#   - Hermes, the IBC relayer (Rust, `cargo install ibc-relayer-cli` from
#     crates.io, --locked);
#   - simd, ibc-go's own simapp daemon (Go, built from the module in
#     tests/ibc/simd through the Go module proxy): the counterparty chain,
#     a Cosmos SDK + ibc-go chain that others wrote.
# Prints the two binaries' paths, Hermes's first; progress goes to stderr.
#
# Cold, on 2 cores: Hermes takes about 11 minutes to build, simd about 4
# (see tests/ibc/README.md). Builds run under `nice`.
#
#   scripts/install-ibc-tools.sh     # prints .../hermes-v1.10.5/bin/hermes, .../simd-v8.8.0/bin/simd
set -euo pipefail
cd "$(dirname "$0")/.."

# The pins. IBC_GO_VERSION must be what tests/ibc/simd/go.mod requires.
# Hermes 1.10.5 is the last 1.x whose build needs nothing but crates.io.
# 1.11 adds Namada (in 1.13: protoc, the protobuf includes and RocksDB
# built from source); from 1.12 ibc-relayer turns on
# penumbra-sdk-proof-params' `download-proving-keys`, whose build script
# fetches proving keys from GitHub, which neither this machine nor CI can
# reach. 1.10.5 accepts Cosmos SDK >=0.45 <0.51 and ibc-go >=4.1.1 <9
# (simd below: SDK 0.50.9, ibc-go 8.8.0) and speaks CometBFT 0.38.
HERMES_VERSION=1.10.5
IBC_GO_VERSION=v8.8.0

cache="${DEAI_CACHE_DIR:-$HOME/.cache/deai}"

hermes="$cache/hermes-v$HERMES_VERSION/bin/hermes"
if ! { [ -x "$hermes" ] && "$hermes" --version 2>/dev/null | grep -qw "$HERMES_VERSION"; }; then
  command -v cargo >/dev/null 2>&1 || { echo "install-ibc-tools: cargo is needed for Hermes" >&2; exit 1; }
  echo "install-ibc-tools: building Hermes $HERMES_VERSION (about 11 minutes on 2 cores the first time)" >&2
  # A target directory of its own, removed afterwards: Hermes's build is
  # gigabytes and shares nothing with the workspace's.
  target=$(mktemp -d "${TMPDIR:-/tmp}/hermes-build.XXXXXX")
  trap 'rm -rf "$target"' EXIT
  CARGO_TARGET_DIR="$target" nice -n 19 cargo install ibc-relayer-cli \
    --version "=$HERMES_VERSION" --locked --root "$cache/hermes-v$HERMES_VERSION" >&2
  rm -rf "$target"
  trap - EXIT
  "$hermes" --version >&2
fi

# simd is keyed by ibc-go's version and by the module's go.sum, so a change
# to either builds afresh.
simd_dir=tests/ibc/simd
grep -q "github.com/cosmos/ibc-go/v8 $IBC_GO_VERSION\$" "$simd_dir/go.mod" ||
  { echo "install-ibc-tools: $simd_dir/go.mod does not require ibc-go $IBC_GO_VERSION" >&2; exit 1; }
pins=$(cat "$simd_dir/go.mod" "$simd_dir/go.sum" | sha256sum | cut -c1-12)
simd="$cache/simd-$IBC_GO_VERSION/bin/simd"
if [ ! -x "$simd" ] || [ "$(cat "$cache/simd-$IBC_GO_VERSION/.pins" 2>/dev/null)" != "$pins" ]; then
  command -v go >/dev/null 2>&1 || { echo "install-ibc-tools: Go is needed for simd" >&2; exit 1; }
  echo "install-ibc-tools: building simd (ibc-go $IBC_GO_VERSION; about 4 minutes on 2 cores the first time)" >&2
  mkdir -p "$(dirname "$simd")"
  # ibc-go's own simd command, built by its import path inside our module
  # (whose go.mod pins ibc-go and its replace directives): no code of ours.
  (cd "$simd_dir" && GOFLAGS=-mod=readonly nice -n 19 go build -o "$simd" \
    "github.com/cosmos/ibc-go/v8/testing/simapp/simd") >&2
  echo "$pins" > "$cache/simd-$IBC_GO_VERSION/.pins"
fi
echo "$hermes"
echo "$simd"
