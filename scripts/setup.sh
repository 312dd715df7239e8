#!/usr/bin/env bash
# Installs everything the project needs, idempotently: npm packages (Foundry, OpenZeppelin,
# solc-js), a Python 3.11 venv with the package (and its test and lint tools with --dev), and the
# compiled contracts (the committed artifacts/ while they match contracts/, else a forge build).
# Each step says what it does and how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
STARTED=$SECONDS
step() { say "$*"; STEP=$SECONDS; }
took() { printf '    done in %ds\n' $((SECONDS - STEP)); }

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

DEV=""
[ "${1:-}" = "--dev" ] && DEV=1
# The main job needs the runtime npm packages only; the tests (--dev) add Hardhat.
if stamp_ok node_modules/.installed-dev package-lock.json ||
  { [ -z "$DEV" ] && stamp_ok node_modules/.installed package-lock.json; }; then
  :
elif [ -n "$DEV" ]; then
  step "npm packages (Foundry 1.7.1, OpenZeppelin, solc 0.8.28, Hardhat 2.28.6 for the any-node test)"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.installed node_modules/.installed-dev
  took
else
  step "npm packages (Foundry 1.7.1, OpenZeppelin, solc 0.8.28)"
  npm ci --omit=dev --no-audit --no-fund --loglevel=error
  touch node_modules/.installed
  took
fi

if [ ! -x .venv/bin/python ]; then
  step "Python venv (.venv)"
  "$PYTHON" -m venv .venv
  took
fi
# `--dev` (scripts/test.sh) adds the test and lint tools; the main job needs only the package.
if [ -n "$DEV" ]; then
  extras="[dev]" stamp=.venv/.installed-dev what="Python packages and dev tools"
else
  extras="" stamp=.venv/.installed what="Python packages"
fi
if ! stamp_ok "$stamp" pyproject.toml; then
  step "$what (pip; first run about a minute)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".$extras"
  touch "$stamp" .venv/.installed
  took
fi

# The committed artifacts/ (ABI + bytecode of the deployed contracts) carry a digest of the
# sources and compiler settings they came from: compile only when contracts/ changed.
if stale=$(PYTHONPATH="$PWD" .venv/bin/python -m loyalty_ledger.chain.compiled --check); then
  say "Contracts: artifacts/ matches contracts/ (no compile needed)"
else
  step "Contracts: ${stale#committed artifacts are }; compiling (forge build, a few minutes)"
  scripts/forge build
  took
fi
printf '    setup done in %ds\n' $((SECONDS - STARTED))
