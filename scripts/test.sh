#!/usr/bin/env bash
# Sets up (idempotently) and runs the whole test suite: lint, Solidity tests with the gas
# snapshot check, then the Python tests against a real anvil, SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "Chromium for the browser tests (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: no /usr/bin/chromium: the browser tests will be skipped" \
      "(install Debian's chromium package)" >&2
  fi
fi

say "Lint and types (ruff, mypy, forge fmt)"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
scripts/forge fmt --check contracts tests/contracts

# The tests compile from source, whatever setup.sh decided about the committed artifacts/
# (tests/test_compiled.py checks those against a fresh compile).
say "Contracts and their tests (forge build)"
scripts/forge build

say "Solidity tests + gas snapshot check (forge)"
scripts/forge snapshot --check

say "Python tests (pytest, 2 workers: anvil, SQLite, PostgreSQL)"
.venv/bin/pytest -n 2 "$@"  # two workers (pytest-xdist): each has its own anvil and schemas
