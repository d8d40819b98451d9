#!/usr/bin/env bash
# Installs the official OpenAI Python client from PyPI, which the compute
# gateway's test (compute-node/tests/gateway_e2e.rs) drives, into its own
# virtualenv cached under ~/.cache/deai (or $DEAI_CACHE_DIR) by version, with
# the exact versions of tests/py/openai-requirements.txt; a second run
# installs nothing. Prints the virtualenv's python.
set -euo pipefail
cd "$(dirname "$0")/.."

OPENAI_VERSION=3.51.0

cache="${DEAI_CACHE_DIR:-$HOME/.cache/deai}"
# Keyed by the client's version and by the pinned list, so a change to either
# builds a fresh one.
pins=$(sha256sum tests/py/openai-requirements.txt | cut -c1-12)
venv="$cache/openai-$OPENAI_VERSION"
python="$venv/bin/python"
if [ ! -x "$python" ] || [ "$(cat "$venv/.pins" 2>/dev/null)" != "$pins" ]; then
  grep -qx "openai==$OPENAI_VERSION" tests/py/openai-requirements.txt ||
    { echo "install-openai: tests/py/openai-requirements.txt does not pin openai==$OPENAI_VERSION" >&2; exit 1; }
  echo "install-openai: installing openai $OPENAI_VERSION into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/py/openai-requirements.txt >&2
  echo "$pins" > "$venv/.pins"
fi
echo "$python"
