#!/usr/bin/env bash
# Installs everything the project needs, idempotently: npm packages (Foundry, OpenZeppelin,
# solc-js), a Python 3.11 venv with the package and its dev tools, and the compiled contracts.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "error: '$1' is required ($2)" >&2; exit 1; }
}
need node "Node.js 18+ runs the solc-js compiler and the Foundry wrappers"
need npm "npm installs Foundry, OpenZeppelin and solc from the npm registry"

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PYTHON=$candidate
      break
    fi
  done
fi
[ -n "$PYTHON" ] || { echo "error: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 1; }

stamp_ok() { [ -f "$1" ] && [ "$1" -nt "$2" ]; }

if ! stamp_ok node_modules/.installed package-lock.json; then
  say "npm packages (Foundry 1.7.1, OpenZeppelin, solc 0.8.28; Hardhat 2.28.6 for the any-node test)"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.installed
fi

if [ ! -x .venv/bin/python ]; then
  say "Python venv (.venv)"
  "$PYTHON" -m venv .venv
fi
if ! stamp_ok .venv/.installed pyproject.toml; then
  say "Python packages"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  touch .venv/.installed
fi

say "Contracts (forge build)"
scripts/forge build --quiet
