#!/usr/bin/env bash
# Installs the CometBFT that DeAI validators run, built from the Go module
# proxy at one pinned version, into a cache keyed by that version, and prints
# the binary's path. Safe to run again: an installed binary of the right
# version is reused.
#
#   scripts/install-cometbft.sh            # prints e.g. ~/.cache/deai/cometbft-v0.38.26/bin/cometbft
#   export PATH="$(dirname "$(scripts/install-cometbft.sh)"):$PATH"
set -euo pipefail

# The one place the version is pinned: v0.38's latest patch the proxy served.
COMETBFT_VERSION=v0.38.26

cache="${DEAI_CACHE_DIR:-$HOME/.cache/deai}/cometbft-$COMETBFT_VERSION"
bin="$cache/bin/cometbft"
if [ -x "$bin" ] && "$bin" version 2>/dev/null | grep -qx "${COMETBFT_VERSION#v}"; then
  echo "$bin"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-cometbft: Go is needed (apt-get install golang-go, or https://go.dev/dl)" >&2
  exit 1
fi
mkdir -p "$cache/bin"
echo "install-cometbft: building cometbft $COMETBFT_VERSION (a few minutes the first time)" >&2
GOBIN="$cache/bin" GOFLAGS=-mod=mod go install "github.com/cometbft/cometbft/cmd/cometbft@$COMETBFT_VERSION" >&2
"$bin" version >&2
echo "$bin"
