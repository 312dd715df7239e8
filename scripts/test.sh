#!/usr/bin/env bash
# Sets up (idempotently) and runs the whole test suite: lint, Solidity tests with the gas
# snapshot check, then the Python tests against a real anvil, SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

say "Lint (ruff, forge fmt)"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
scripts/forge fmt --check contracts tests/contracts

say "Solidity tests + gas snapshot check (forge)"
scripts/forge snapshot --check

say "Python tests (pytest: anvil, SQLite, PostgreSQL)"
.venv/bin/pytest "$@"
