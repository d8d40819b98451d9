#!/usr/bin/env bash
# Installs the API clients the tests run against a node's Cosmos gRPC and
# REST servers, each pinned and cached under ~/.cache/deai (or
# $DEAI_CACHE_DIR) by version, so a second run installs nothing:
#   - grpcurl (Go, built through the Go module proxy): lists and calls
#     services through gRPC server reflection;
#   - cosmpy (Python, from PyPI, in its own virtualenv, with the exact
#     versions of tests/py/requirements.txt).
# Prints the two paths, grpcurl's first.
set -euo pipefail
cd "$(dirname "$0")/.."

GRPCURL_VERSION=v1.9.3
COSMPY_VERSION=0.12.2

cache="${DEAI_CACHE_DIR:-$HOME/.cache/deai}"

grpcurl="$cache/grpcurl-$GRPCURL_VERSION/bin/grpcurl"
if [ ! -x "$grpcurl" ]; then
  command -v go >/dev/null 2>&1 || { echo "install-api-clients: Go is needed for grpcurl" >&2; exit 1; }
  echo "install-api-clients: building grpcurl $GRPCURL_VERSION" >&2
  GOBIN="$(dirname "$grpcurl")" GOFLAGS=-mod=mod \
    go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION" >&2
fi

# The virtualenv is keyed by cosmpy's version and by the pinned list, so a
# change to either builds a fresh one.
pins=$(sha256sum tests/py/requirements.txt | cut -c1-12)
venv="$cache/cosmpy-$COSMPY_VERSION"
python="$venv/bin/python"
if [ ! -x "$python" ] || [ "$(cat "$venv/.pins" 2>/dev/null)" != "$pins" ]; then
  grep -qx "cosmpy==$COSMPY_VERSION" tests/py/requirements.txt ||
    { echo "install-api-clients: tests/py/requirements.txt does not pin cosmpy==$COSMPY_VERSION" >&2; exit 1; }
  echo "install-api-clients: installing cosmpy $COSMPY_VERSION into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/py/requirements.txt >&2
  echo "$pins" > "$venv/.pins"
fi
echo "$grpcurl"
echo "$python"
