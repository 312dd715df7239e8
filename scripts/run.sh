#!/usr/bin/env bash
# The main job: set up (idempotently), then run a local anvil, the demo network and the indexer
# until Ctrl-C. Settings come from LOYALTY_* variables or .env (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/loyalty up "$@"
